"""Preference datasets through the API: import every shape, the task-type guard, updates by id, the margin option."""

import json

from tests.importers.preference_helpers import jsonl

PAIR = {"prompt": "2+2?", "chosen": "4", "rejected": "5"}


def examples_of(client, dataset_id: int) -> list[dict]:
    return client.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 1000}).json()["items"]


def test_every_preference_shape_is_stored(client, make_dataset, import_jsonl):
    records = {
        "trl_preference": PAIR,
        "openai_dpo": {"input": {"messages": [{"role": "user", "content": "2+2?"}]},
                       "preferred_output": [{"role": "assistant", "content": "4"}],
                       "non_preferred_output": [{"role": "assistant", "content": "5"}]},
        "hh": {"chosen": "\n\nHuman: 2+2?\n\nAssistant: 4", "rejected": "\n\nHuman: 2+2?\n\nAssistant: 5"},
        "rated": {"prompt": "2+2?", "completions": ["5", "4"], "scores": [1, 10]},
    }
    for name, record in records.items():
        ds = make_dataset(name, task_type="preference")
        response = import_jsonl(ds["id"], jsonl(record))
        assert response.status_code == 200 and response.json()["format"] == name, response.text
        [example] = examples_of(client, ds["id"])
        assert (example["input"], example["output"], example["rejected"], example["kto_label"]) == ("2+2?", "4", "5", None)
    ds = make_dataset("kto", task_type="preference")
    response = import_jsonl(ds["id"], jsonl({"prompt": "2+2?", "completion": "5", "label": False}))
    assert response.json()["format"] == "kto"
    [example] = examples_of(client, ds["id"])
    assert (example["output"], example["rejected"], example["kto_label"]) == ("5", None, False)


def test_the_rejected_side_is_part_of_the_content_hash(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="preference")
    import_jsonl(ds["id"], jsonl(PAIR, {**PAIR, "rejected": "6"}))
    first, second = examples_of(client, ds["id"])
    assert first["content_hash"] != second["content_hash"]


def test_preference_file_into_an_sft_dataset_and_back_is_a_422_naming_the_format(client, make_dataset, import_jsonl):
    sft = make_dataset("sft")
    response = import_jsonl(sft["id"], jsonl(PAIR))
    assert response.status_code == 422
    assert response.json()["field"] == "format" and "preference pairs" in response.json()["detail"]
    pref = make_dataset("pref", task_type="preference")
    response = import_jsonl(pref["id"], jsonl({"prompt": "q", "completion": "a"}))
    assert response.status_code == 422 and response.json()["field"] == "format"
    assert examples_of(client, sft["id"]) == examples_of(client, pref["id"]) == []


def test_bad_lines_are_reported_by_line_and_field_and_nothing_is_written(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="preference")
    response = import_jsonl(ds["id"], jsonl(PAIR, {"prompt": "q", "chosen": "a"}))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"line": 2, "field": "rejected", "message": "missing field 'rejected'"}]
    assert examples_of(client, ds["id"]) == []


def test_reimport_by_id_updates_the_rejected_side_with_a_revision(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="preference")
    import_jsonl(ds["id"], jsonl({**PAIR, "id": "p1"}))
    import_jsonl(ds["id"], jsonl({**PAIR, "id": "p1", "rejected": "22"}))
    [example] = examples_of(client, ds["id"])
    assert example["rejected"] == "22" and example["version"] == 2
    revisions = client.get(f"/api/v1/examples/{example['id']}/revisions").json()
    assert [(r["field"], r["old"], r["new"]) for r in revisions] == [("rejected", "5", "22")]


def test_rated_margin_option(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="preference")
    record = {"id": "r", "prompt": "q", "completions": ["a", "b", "c"], "scores": [1, 5, 9]}
    response = import_jsonl(ds["id"], jsonl(record), rated_margin=4)
    assert response.status_code == 200 and response.json()["imported"] == 3, response.text
    assert sorted(e["external_id"] for e in examples_of(client, ds["id"])) == ["r#1>0", "r#2>0", "r#2>1"]
    assert import_jsonl(ds["id"], jsonl(record), rated_margin=0).status_code == 422


def test_api_create_and_patch_a_pair(client, make_dataset):
    ds = make_dataset(task_type="preference")
    created = client.post(f"/api/v1/datasets/{ds['id']}/examples",
                          json={"input": "q", "output": "good", "rejected": "bad"}).json()
    assert created["rejected"] == "bad"
    patched = client.patch(f"/api/v1/examples/{created['id']}",
                           json={"version": 1, "output": "bad", "rejected": "good"})
    assert patched.status_code == 200 and (patched.json()["output"], patched.json()["rejected"]) == ("bad", "good")
    assert json.dumps(patched.json()["content_hash"]) != json.dumps(created["content_hash"])


def test_preference_fields_fit_the_task_type(client, make_dataset):
    sft = make_dataset("sft")
    response = client.post(f"/api/v1/datasets/{sft['id']}/examples", json={"input": "q", "output": "a", "rejected": "b"})
    assert response.status_code == 422 and response.json()["field"] == "rejected"
    pref = make_dataset("pref", task_type="preference")
    for body in ({"input": "q", "output": "a"}, {"input": "q", "output": "a", "rejected": "b", "kto_label": True}):
        response = client.post(f"/api/v1/datasets/{pref['id']}/examples", json=body)
        assert response.status_code == 422 and response.json()["field"] == "rejected"
    kto = client.post(f"/api/v1/datasets/{pref['id']}/examples",
                      json={"input": "q", "output": "a", "kto_label": False}).json()
    response = client.patch(f"/api/v1/examples/{kto['id']}", json={"version": 1, "rejected": "b"})
    assert response.status_code == 422  # a KTO example does not become a pair by halves
