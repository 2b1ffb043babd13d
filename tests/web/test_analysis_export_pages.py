import re
import time


def _wait_for_job(client, job_id: int, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fragment = client.get(f"/jobs/{job_id}/progress", headers={"HX-Request": "true"})
        assert fragment.status_code == 200
        status = re.search(r'class="job-status">(\w+)<', fragment.text).group(1)
        if status not in ("queued", "running"):
            assert 'hx-trigger="every 1s"' not in fragment.text  # polling stops when the job ends
            return status
        assert 'hx-trigger="every 1s"' in fragment.text
        time.sleep(0.2)
    raise AssertionError("the analysis did not finish")


def test_analyse_button_starts_a_job_that_polls_until_done_then_health_shows_it(page_client, seed_pairs):
    rows = [{"id": f"{i}", "prompt": f"question number {i % 6} about topic", "completion": "yes" if i % 3 else "no"}
            for i in range(24)]
    ds, ids = seed_pairs(rows=rows, task_type="classification")
    started = page_client.post(f"/datasets/{ds['id']}/analyze", headers={"HX-Request": "true"})
    assert started.status_code == 202 and 'hx-trigger="every 1s"' in started.text
    job_id = int(re.search(r'id="job-(\d+)"', started.text).group(1))
    again = page_client.post(f"/datasets/{ds['id']}/analyze", headers={"HX-Request": "true"})
    assert again.status_code in (202, 409)  # 409 while the first one is still queued or running
    assert _wait_for_job(page_client, job_id) == "succeeded"

    health = page_client.get(f"/datasets/{ds['id']}/health")
    assert health.status_code == 200
    assert '<svg class="chart"' in health.text and ">yes</text>" in health.text and ">no</text>" in health.text
    assert "Not ready yet" in health.text and "at least 500 are needed" in health.text
    assert f'href="/datasets/{ds["id"]}/review/exact_duplicate"' in health.text
    shown = page_client.get(f"/datasets/{ds['id']}")
    assert "Review queues" in shown.text and "exact_duplicate" in shown.text


def test_plain_form_post_of_analyse_redirects_back(page_client, seed_pairs):
    ds, _ = seed_pairs(3)
    response = page_client.post(f"/datasets/{ds['id']}/analyze", data={"csrf_token": page_client.csrf},
                                follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/datasets/{ds['id']}"


def test_unknown_job_is_404(page_client):
    assert page_client.get("/jobs/999/progress").status_code == 404


def test_export_form_previews_split_counts_and_exports(page_client, seed_pairs):
    rows = [{"id": f"{i}", "prompt": f"distinct prompt {i}", "completion": "pos" if i % 2 else "neg"} for i in range(20)]
    ds, _ = seed_pairs(rows=rows, task_type="classification")
    form = page_client.get(f"/datasets/{ds['id']}/export")
    assert form.status_code == 200 and 'id="export-form"' in form.text and 'hx-get="/datasets/' in form.text
    # Only the checks that run on a classification dataset are offered for exclusion.
    assert 'value="label_issue"' in form.text and 'value="identical_sides"' not in form.text
    params = {"format": "openai_chat", "seed": "1", "dedupe": "keep_one", "epochs": "1", "split_train": "0.5",
              "split_validation": "0.25", "split_test": "0.25", "include_status": ["pending", "accepted"]}
    preview = page_client.get(f"/datasets/{ds['id']}/export/preview", params=params, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and 'id="preview-table"' in preview.text and "<html" not in preview.text
    totals = re.findall(r"<td class=\"num\"><strong>(\d+)</strong></td>", preview.text)
    assert list(map(int, totals)) == [10, 5, 5]
    bad = page_client.get(f"/datasets/{ds['id']}/export/preview", params={**params, "split_train": "0.9"})
    assert 'id="preview-errors"' in bad.text and "sum to 1" in bad.text

    done = page_client.post(f"/datasets/{ds['id']}/exports", data=params, headers={"HX-Request": "true"})
    assert done.status_code == 201 and 'id="export-done"' in done.text
    link = re.search(r'href="(/api/v1/exports/\d+/files/train.jsonl)"', done.text).group(1)
    assert len(page_client.get(link).text.strip().splitlines()) == 10
    # The token statistics per split, the training-token estimate and the leakage check are on the page.
    manifest = page_client.get(link.replace("train.jsonl", "manifest.json")).json()
    assert 'id="export-tokens"' in done.text and "Estimated training tokens for 1 epoch:" in done.text
    train_total = manifest["tokens"]["splits"]["train"]["total"]
    assert f'<td class="num">{train_total:,}</td>' in done.text
    assert f"<strong>{manifest['tokens']['estimated_training_tokens']:,}</strong>" in done.text
    assert 'id="export-leakage"' in done.text and "<strong>passed</strong>" in done.text
    nothing = page_client.post(f"/datasets/{ds['id']}/exports", data={**params, "include_status": ["rejected"]},
                               headers={"HX-Request": "true"})
    assert nothing.status_code == 422 and "nothing to export" in nothing.text


def test_export_answer_shows_empty_split_warnings_and_openai_rule_violations(page_client, seed_pairs):
    ds, _ = seed_pairs(n=3)
    params = {"format": "openai_chat", "seed": "1", "dedupe": "keep_one", "epochs": "1", "split_train": "0.8",
              "split_validation": "0.1", "split_test": "0.1", "include_status": ["pending", "accepted"]}
    done = page_client.post(f"/datasets/{ds['id']}/exports", data=params, headers={"HX-Request": "true"})
    assert done.status_code == 201 and 'id="export-warnings"' in done.text
    assert "the test split is empty" in done.text and "no test.jsonl was written" in done.text
    assert 'id="export-format-checks"' in done.text and "OpenAI requires at least 10" in done.text
    assert "files/test.jsonl" not in done.text  # only the files that exist are offered


def test_training_view_on_the_example_page_and_in_the_export_preview(page_client, seed_pairs):
    ds, ids = seed_pairs(rows=[{"id": "a", "messages": [{"role": "system", "content": "Be terse."},
                                                         {"role": "user", "content": "2+2?"},
                                                         {"role": "assistant", "content": "4"}]}])
    page = page_client.get(f"/examples/{ids[0]}")
    assert f'hx-get="/examples/{ids[0]}/training-view"' in page.text
    view = page_client.get(f"/examples/{ids[0]}/training-view", params={"mode": "assistant"},
                           headers={"HX-Request": "true"})
    assert view.status_code == 200 and 'id="training-view"' in view.text and "<html" not in view.text
    assert '<span class="tok-train">4</span>' in view.text and "o200k_base" in view.text
    assert page_client.get(f"/examples/{ids[0]}/training-view", params={"mode": "nope"}).status_code == 422
    preview = page_client.get(f"/datasets/{ds['id']}/export/training-view", params={"format": "trl_messages"},
                              headers={"HX-Request": "true"})
    assert preview.status_code == 200 and "every token" in preview.text
    assert 'id="training-view-slot"' in page_client.get(f"/datasets/{ds['id']}/export").text
