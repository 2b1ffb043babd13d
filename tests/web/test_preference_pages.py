"""Preference pairs in the web UI: side by side with differences, swap (a revision), edit either side, the health figures."""

import re

PAIRS = [{"id": "p0", "prompt": "Describe the package zsh", "chosen": "Z shell, a powerful command interpreter.",
          "rejected": "Z shell, a command interpreter."},
         {"id": "p1", "prompt": "Describe the package vim", "chosen": "Vi IMproved.", "rejected": "Vi IMproved."},
         {"id": "k0", "prompt": "Describe the package curl", "completion": "A web browser.", "label": False}]


def seed(seed_pairs, rows=PAIRS[:2]):
    return seed_pairs(rows=rows, task_type="preference")


def test_review_queue_shows_the_pair_side_by_side_with_differences(page_client, seed_pairs, add_findings):
    ds, ids = seed(seed_pairs)
    [fid] = add_findings(ds["id"], [{"example_id": ids[0], "check": "identical_sides", "score": 0.93,
                                     "details": {"message": "93% the same"}}])
    page = page_client.get(f"/datasets/{ds['id']}/review/identical_sides")
    assert page.status_code == 200
    chosen = re.search(r'<pre data-side="chosen">(.*?)</pre>', page.text, re.S).group(1)
    rejected = re.search(r'<pre data-side="rejected">(.*?)</pre>', page.text, re.S).group(1)
    assert '<ins class="diff">powerful </ins>' in chosen and "<ins" not in rejected
    assert f'id="pair-{fid}" data-swap' in page.text and "<kbd>s</kbd> swap" in page.text


def test_swap_key_action_swaps_records_a_revision_and_resolves_the_finding(page_client, seed_pairs, add_findings):
    ds, ids = seed(seed_pairs)
    [fid] = add_findings(ds["id"], [{"example_id": ids[0], "check": "contradicting_preference", "score": 1.0,
                                     "details": {"message": "other way round", "cluster_id": "c", "members": ids}}])
    response = page_client.post(f"/datasets/{ds['id']}/review/contradicting_preference/act",
                                data={"finding_id": fid, "action": "swap", "offset": 0}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'id="queue-empty"' in response.text
    example = page_client.get(f"/api/v1/examples/{ids[0]}").json()
    assert (example["output"], example["rejected"]) == (PAIRS[0]["rejected"], PAIRS[0]["chosen"])
    revisions = page_client.get(f"/api/v1/examples/{ids[0]}/revisions").json()
    assert {(r["field"], r["version"]) for r in revisions} == {("output", 2), ("rejected", 2)}


def test_accept_and_reject_the_pair(page_client, seed_pairs, add_findings):
    ds, ids = seed(seed_pairs)
    fids = add_findings(ds["id"], [{"example_id": i, "check": "identical_sides", "score": 1.0,
                                    "details": {"message": "same"}} for i in ids])
    act = f"/datasets/{ds['id']}/review/identical_sides/act"
    page_client.post(act, data={"finding_id": fids[0], "action": "accept"})
    page_client.post(act, data={"finding_id": fids[1], "action": "reject"})
    assert [page_client.get(f"/api/v1/examples/{i}").json()["status"] for i in ids] == ["accepted", "rejected"]


def test_swap_of_an_unpaired_example_is_a_422(page_client, seed_pairs, add_findings):
    ds, ids = seed(seed_pairs, rows=[PAIRS[2]])
    [fid] = add_findings(ds["id"], [{"example_id": ids[0], "check": "format", "score": 1.0, "details": {}}])
    page = page_client.get(f"/datasets/{ds['id']}/review/format")
    assert "KTO label <strong>undesirable</strong>" in page.text and "data-swap" not in page.text
    response = page_client.post(f"/datasets/{ds['id']}/review/format/act",
                                data={"finding_id": fid, "action": "swap"})
    assert response.status_code == 422


def test_example_page_edits_either_side_and_swaps(page_client, seed_pairs):
    ds, ids = seed(seed_pairs)
    page = page_client.get(f"/examples/{ids[0]}")
    assert 'id="preference-pair"' in page.text and 'name="rejected"' in page.text and "Chosen<textarea" in page.text
    saved = page_client.post(f"/examples/{ids[0]}/edit", data={
        "version": 1, "input": PAIRS[0]["prompt"], "output": PAIRS[0]["chosen"], "rejected": "A shell.",
        "system": "", "label": ""})
    assert saved.status_code == 200 and "Saved: version 2" in saved.text
    swapped = page_client.post(f"/examples/{ids[0]}/swap", data={"version": 2}, follow_redirects=False)
    assert swapped.status_code == 303
    example = page_client.get(f"/api/v1/examples/{ids[0]}").json()
    assert (example["output"], example["rejected"], example["version"]) == ("A shell.", PAIRS[0]["chosen"], 3)
    stale = page_client.post(f"/examples/{ids[0]}/swap", data={"version": 2})
    assert stale.status_code == 409


def test_api_swap(page_client, seed_pairs):
    ds, ids = seed(seed_pairs)
    response = page_client.post(f"/api/v1/examples/{ids[0]}/swap", json={"version": 1})
    assert response.status_code == 200 and response.json()["rejected"] == PAIRS[0]["chosen"]
    assert page_client.post(f"/api/v1/examples/{ids[0]}/swap", json={"version": 1}).status_code == 409


def test_health_page_shows_the_length_bias_figures(page_client, seed_pairs):
    from app.db import session_scope
    from app.models import Job

    ds, _ = seed(seed_pairs)
    with session_scope() as session:
        session.add(Job(kind="analyze", dataset_id=ds["id"], status="succeeded", result={"notes": {"length_bias": {
            "pairs": 40, "chosen_longer_share": 0.9, "rejected_longer_share": 0.05, "median_length_ratio": 2.5,
            "biased": True, "max_share": 0.8}}}))
    page = page_client.get(f"/datasets/{ds['id']}/health")
    assert 'id="length-bias"' in page.text and "90%" in page.text and "2.50" in page.text
    assert "Length-biased" in page.text
    report = page_client.get(f"/api/v1/datasets/{ds['id']}/report").json()
    assert report["length_bias"]["chosen_longer_share"] == 0.9


def test_upload_form_offers_the_preference_formats_and_the_rated_margin(page_client, make_dataset):
    ds = make_dataset("rated", task_type="preference")
    page = page_client.get(f"/datasets/{ds['id']}")
    assert 'name="rated_margin"' in page.text and '<option value="rated">' in page.text
    assert '<option value="alpaca">' not in page.text  # an SFT format cannot import into a preference dataset
    body = b'{"id": "r", "prompt": "q", "completions": ["a", "b", "c"], "scores": [1, 5, 9]}\n'
    response = page_client.post(f"/datasets/{ds['id']}/upload", data={"format": "auto", "rated_margin": "4"},
                                files={"file": ("pairs.jsonl", body, "application/x-ndjson")})
    assert response.status_code == 200, response.text
    assert page_client.get(f"/api/v1/datasets/{ds['id']}/examples").json()["total"] == 3
    bad = page_client.post(f"/datasets/{ds['id']}/upload", data={"format": "auto", "rated_margin": "-1"},
                           files={"file": ("pairs.jsonl", body, "application/x-ndjson")})
    assert bad.status_code == 422


def test_export_page_offers_the_formats_of_the_task_type(page_client, make_dataset):
    pref = make_dataset("pref", task_type="preference")
    page = page_client.get(f"/datasets/{pref['id']}/export")
    assert "<option selected>trl_preference</option>" in page.text and "<option >kto</option>" in page.text
    sft = make_dataset("sft")
    assert "trl_preference" not in page_client.get(f"/datasets/{sft['id']}/export").text
