"""Reference sets through the API: role, settings validation, contamination findings, the health report,
export exclusion, and cross-dataset duplicates in the import answer and as findings."""

from tests.analysis.helpers import analyse, jsonl

PASSAGE = ("Winnow keeps near copies inside one export from crossing splits and checks every training pair against "
           "the evaluation sets that a team names in its settings")


def _reference(client, make_dataset, import_jsonl) -> dict:
    ref = make_dataset("evalset", role="reference")
    assert ref["role"] == "reference"
    assert import_jsonl(ref["id"], jsonl([
        {"input": "What is the capital of France?", "output": "Paris"},
        {"input": PASSAGE, "output": "yes"},
    ])).status_code == 200
    return ref


def test_contamination_findings_report_and_export(client, make_dataset, import_jsonl):
    ref = _reference(client, make_dataset, import_jsonl)
    train = make_dataset("train", settings={"contamination": {"reference_datasets": [ref["id"]]}})
    pairs = [{"input": "what is the capital of  FRANCE?", "output": "Paris."},                 # exact
             {"input": f"Quoted: {PASSAGE}. End.", "output": "ok"}]                            # 13-gram
    pairs += [{"input": f"unrelated question number {i} about packages", "output": f"answer {i}"} for i in range(8)]
    assert import_jsonl(train["id"], jsonl(pairs)).status_code == 200
    analyse(client, train["id"])

    found = client.get(f"/api/v1/datasets/{train['id']}/findings", params={"check": "contamination"}).json()["items"]
    by_match = {f["details"]["match"]: f for f in found}
    assert set(by_match) == {"exact", "ngram"}, found
    assert all(f["details"]["reference_dataset_id"] == ref["id"] for f in found)

    report = client.get(f"/api/v1/datasets/{train['id']}/report").json()
    assert report["contamination"] == [{"reference_dataset_id": ref["id"], "reference_dataset": "evalset",
                                        "contaminated": 2, "rate": 0.2}]
    assert any("contamination" in reason for reason in report["readiness"]["reasons"])

    preview = client.post(f"/api/v1/datasets/{train['id']}/exports/preview", json={"splits": {"train": 1.0}})
    assert preview.status_code == 200, preview.text
    assert preview.json()["excluded"]["by_check"].get("contamination") == 2

    refused = client.post(f"/api/v1/datasets/{ref['id']}/exports", json={})
    assert refused.status_code == 409 and "reference set" in refused.json()["detail"]


def test_reference_settings_are_validated(client, make_dataset):
    training = make_dataset("plain")
    bad = client.post("/api/v1/datasets", json={"name": "x", "settings": {
        "contamination": {"reference_datasets": [training["id"]]}}})
    assert bad.status_code == 422 and "not a reference set" in bad.text
    missing = client.patch(f"/api/v1/datasets/{training['id']}", json={
        "settings": {"contamination": {"reference_datasets": [9999]}}})
    assert missing.status_code == 422 and "9999" in missing.text
    itself = client.patch(f"/api/v1/datasets/{training['id']}", json={
        "settings": {"contamination": {"reference_datasets": [training["id"]]}}})
    assert itself.status_code == 422


def test_a_referenced_set_cannot_become_training_silently(client, make_dataset):
    ref = make_dataset("evalset", role="reference")
    make_dataset("train", settings={"contamination": {"reference_datasets": [ref["id"]]}})
    answer = client.patch(f"/api/v1/datasets/{ref['id']}", json={"role": "training"})
    assert answer.status_code == 409
    assert client.patch(f"/api/v1/datasets/{ref['id']}", json={"description": "v2"}).json()["role"] == "reference"


def test_cross_dataset_duplicates_in_the_import_answer_and_as_findings(client, make_dataset, import_jsonl):
    week1 = make_dataset("week1")
    assert import_jsonl(week1["id"], jsonl([{"input": f"question {i}", "output": "a"} for i in range(5)])).json()[
        "already_in_other_datasets"] is None  # no other dataset yet
    week2 = make_dataset("week2", settings={"exact_duplicate": {"across_datasets": True}})
    answer = import_jsonl(week2["id"], jsonl([{"input": "QUESTION 1", "output": "b"},
                                              {"input": "question 3", "output": "c"},
                                              {"input": "something new", "output": "d"}])).json()
    assert answer["already_in_other_datasets"] == {"total": 2, "by_dataset": {"week1": 2}}
    analyse(client, week2["id"])
    found = client.get(f"/api/v1/datasets/{week2['id']}/findings", params={"check": "exact_duplicate"}).json()["items"]
    assert len(found) == 2 and all(f["details"]["across_datasets"] for f in found)
    assert {f["details"]["other_dataset"] for f in found} == {"week1"}


def test_an_export_with_a_budget_records_its_selection_and_coverage(client, make_dataset, import_jsonl):
    dataset = make_dataset("budgeted")
    topics = ["kernel module", "font package", "python library", "game data"]
    pairs = [{"input": f"{topic} variant {i}", "output": f"out {topic} {i}"} for topic in topics for i in range(30)]
    assert import_jsonl(dataset["id"], jsonl(pairs)).status_code == 200
    analyse(client, dataset["id"])
    params = {"max_examples": 20, "selection": "diverse", "splits": {"train": 1.0}, "exclude_checks": [],
              "dedupe": "keep_all"}
    preview = client.post(f"/api/v1/datasets/{dataset['id']}/exports/preview", json=params).json()
    assert preview["total"] == 20 and preview["excluded"]["budget"] == 100
    diverse, random = preview["budget"]["coverage"], preview["budget"]["coverage_of_random"]
    assert diverse["mean_distance_to_nearest_selected"] <= random["mean_distance_to_nearest_selected"]

    created = client.post(f"/api/v1/datasets/{dataset['id']}/exports", json={**params, "selection": "random"})
    assert created.status_code == 201, created.text
    manifest = created.json()["manifest"]
    assert manifest["selection"]["selection"] == "random" and manifest["selection"]["selected"] == 20
    assert "mean_distance_to_nearest_selected" in manifest["selection"]["coverage"]
    assert manifest["counts"]["total"] == 20
