"""Reference sets and budgets in the browser pages: the role on create, the refusal to export a reference
set, the budget fields and the coverage of both selections in the export preview, contamination on health."""

from tests.analysis.helpers import analyse, jsonl


def test_a_reference_set_is_created_from_the_form_and_cannot_be_exported(page_client):
    created = page_client.post("/datasets", data={"name": "evalset", "task_type": "generation", "role": "reference"})
    assert created.status_code in (200, 303)
    dataset = page_client.get("/api/v1/datasets").json()["items"][0]
    assert dataset["role"] == "reference"
    assert "reference set" in page_client.get(f"/datasets/{dataset['id']}").text
    preview = page_client.get(f"/datasets/{dataset['id']}/export/preview", params={"include_status": "pending"},
                              headers={"HX-Request": "true"})
    assert 'id="preview-errors"' in preview.text and "never exported" in preview.text
    form = page_client.get(f"/datasets/{dataset['id']}/export")  # a note instead of a form that can only fail
    assert 'id="reference-set-note"' in form.text and 'id="export-form"' not in form.text


def test_the_preview_shows_what_a_budget_buys(page_client, make_dataset, import_jsonl):
    ds = make_dataset("budget")
    pairs = [{"input": f"{topic} item {i}", "output": "x"} for topic in ("alpha", "beta", "gamma") for i in range(20)]
    import_jsonl(ds["id"], jsonl(pairs))
    analyse(page_client, ds["id"])
    params = {"format": "openai_chat", "seed": "1", "dedupe": "keep_all", "epochs": "1", "split_train": "1",
              "split_validation": "0", "split_test": "0", "include_status": ["pending"], "max_examples": "6",
              "selection": "diverse"}
    preview = page_client.get(f"/datasets/{ds['id']}/export/preview", params=params, headers={"HX-Request": "true"})
    assert 'id="budget-coverage"' in preview.text, preview.text
    assert "diverse</strong> (this export)" in preview.text and "<td>random</td>" in preview.text


def test_health_shows_the_contamination_rate_per_reference_set(page_client, make_dataset, import_jsonl):
    ref = make_dataset("evalset", role="reference")
    import_jsonl(ref["id"], jsonl([{"input": "What is the capital of France?", "output": "Paris"}]))
    train = make_dataset("train", settings={"contamination": {"reference_datasets": [ref["id"]]}})
    import_jsonl(train["id"], jsonl([{"input": "what is the capital of france?", "output": "Paris"},
                                     {"input": "something else", "output": "x"}]))
    analyse(page_client, train["id"])
    html = page_client.get(f"/datasets/{train['id']}/health").text
    assert 'id="contamination"' in html and "evalset" in html and "50.00%" in html


def test_the_dataset_page_chooses_the_reference_sets(page_client, make_dataset):
    ref = make_dataset("evalset", role="reference")
    train = make_dataset("train")
    page = page_client.get(f"/datasets/{train['id']}").text
    assert 'id="references"' in page and f'value="{ref["id"]}"' in page
    saved = page_client.post(f"/datasets/{train['id']}/references", data={"reference_datasets": [str(ref["id"])]},
                             headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "checked" in saved.text and "saved" in saved.text
    assert ">evalset</a>" in page_client.get(f"/datasets/{train['id']}").text  # "checked against", by name
    settings = page_client.get(f"/api/v1/datasets/{train['id']}").json()["settings"]
    assert settings["contamination"]["reference_datasets"] == [ref["id"]]
    assert 'id="references"' not in page_client.get(f"/datasets/{ref['id']}").text  # a reference set checks nothing
    cleared = page_client.post(f"/datasets/{train['id']}/references", data={}, headers={"HX-Request": "true"})
    assert cleared.status_code == 200
    assert page_client.get(f"/api/v1/datasets/{train['id']}").json()["settings"]["contamination"][
        "reference_datasets"] == []
