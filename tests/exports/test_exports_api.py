"""The export endpoints, the downloads, and loading the files with the `datasets` library offline."""

import io
import json
import zipfile

import orjson
import pytest

from app.exports import FORMATS


def sections_jsonl(sizes: dict[str, int]) -> str:
    return "".join(json.dumps({"id": f"{label}-{i}", "prompt": f"describe package {label} {i}",
                               "completion": label}) + "\n" for label, n in sizes.items() for i in range(n))


@pytest.fixture
def dataset_id(make_dataset, import_jsonl):
    dataset = make_dataset("api-export", task_type="classification")
    response = import_jsonl(dataset["id"], sections_jsonl({"net": 30, "web": 15, "doc": 4, "games": 1}))
    assert response.status_code in (200, 201), response.text
    return dataset["id"]


def test_create_with_defaults_answers_201_with_manifest(client, dataset_id):
    response = client.post(f"/api/v1/datasets/{dataset_id}/exports")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["format"] == "openai_chat"
    manifest = body["manifest"]
    assert manifest["counts"]["total"] == 50
    assert manifest["counts"]["labels"] == {"net": 30, "web": 15, "doc": 4, "games": 1}
    assert manifest["leakage"]["passed"] is True
    assert client.get(f"/api/v1/exports/{body['id']}").json()["manifest"] == manifest
    listing = client.get(f"/api/v1/datasets/{dataset_id}/exports").json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == body["id"]
    assert "example_ids" not in listing["items"][0]["manifest"] \
        and len(manifest["example_ids"]["train"]) == manifest["counts"]["splits"]["train"]["total"]


BAD_RATIOS = [({"train": 0.8, "validation": 0.1, "test": 0.2}, "sum to 1"), ({"train": 1.5, "test": -0.5}, "[0, 1]"),
              ({"train": 0.9, "holdout": 0.1}, "unknown split")]
BAD_PARAMS = [({"format": "csv"}, "format"), ({"exclude_checks": ["typo"]}, "exclude_checks"),
              ({"dedupe": "maybe"}, "dedupe"), ({"include_status": ["gone"]}, "include_status.0"),
              ({"seed": -1}, "seed"), ({"epochs": 0}, "epochs"), ({"extra": 1}, "extra")]


def test_bad_params_are_422_naming_the_field_and_write_nothing(client, dataset_id):
    # One test over all cases: each API test pays for a real signed-in admin.
    for splits, fragment in BAD_RATIOS:
        response = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={"splits": splits})
        assert response.status_code == 422, splits
        assert response.json()["errors"][0]["field"] == "splits" and fragment in response.text
    for body, field in BAD_PARAMS:
        response = client.post(f"/api/v1/datasets/{dataset_id}/exports", json=body)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field, body
    assert client.get(f"/api/v1/datasets/{dataset_id}/exports").json()["total"] == 0


def test_unknown_dataset_and_export_are_404(client):
    assert client.post("/api/v1/datasets/999999/exports").status_code == 404
    assert client.get("/api/v1/exports/999999").status_code == 404


def test_zero_ratio_split_is_empty_and_left_out_of_the_card(client, dataset_id):
    response = client.post(f"/api/v1/datasets/{dataset_id}/exports",
                           json={"splits": {"train": 0.9, "validation": 0, "test": 0.1}})
    export = response.json()
    assert export["manifest"]["counts"]["splits"]["validation"]["total"] == 0
    card = client.get(f"/api/v1/exports/{export['id']}/files/README.md").text
    assert "split: validation" not in card and "split: test" in card


def test_downloads_are_attachments_and_other_names_are_refused(client, dataset_id):
    export = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={"format": "sharegpt"}).json()
    base = f"/api/v1/exports/{export['id']}/files"
    train = client.get(f"{base}/train.jsonl")
    assert train.status_code == 200 and "attachment" in train.headers["content-disposition"]
    lines = [orjson.loads(line) for line in train.content.splitlines()]
    assert len(lines) == export["manifest"]["counts"]["splits"]["train"]["total"]
    assert all(set(line) == {"conversations"} for line in lines)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"{base}/all.zip").content))
    assert set(archive.namelist()) == {"train.jsonl", "validation.jsonl", "test.jsonl", "manifest.json", "README.md"}
    assert archive.read("train.jsonl") == train.content
    for name in ("..%2F..%2Fwinnow.db", "train.jsonl.bak", "..%2Fmanifest.json", "%2Fetc%2Fpasswd", ".all.zip.x"):
        assert client.get(f"{base}/{name}").status_code == 404


def test_preview_counts_without_writing(client, dataset_id):
    response = client.post(f"/api/v1/datasets/{dataset_id}/exports/preview", json={"seed": 1})
    assert response.status_code == 200
    assert sum(s["total"] for s in response.json()["splits"].values()) == 50
    assert client.get(f"/api/v1/datasets/{dataset_id}/exports").json()["total"] == 0


def test_files_load_with_the_datasets_library_offline(client, dataset_id, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    for format_name in [name for name, f in FORMATS.items() if "generation" in f.task_types]:  # preference: own tests
        export = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={"format": format_name}).json()
        files = {}
        for split in ("train", "validation", "test"):
            path = tmp_path / format_name / f"{split}.jsonl"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(client.get(f"/api/v1/exports/{export['id']}/files/{split}.jsonl").content)
            files[split] = str(path)
        loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "cache"))
        counts = export["manifest"]["counts"]["splits"]
        assert {s: loaded[s].num_rows for s in files} == {s: counts[s]["total"] for s in files}
        assert set(loaded["train"].column_names) == set(FORMATS[format_name].keys), format_name
    # The dataset card's YAML `configs` alone is enough: load the unzipped folder as it is.
    folder = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/exports/{export['id']}/files/all.zip").content)).extractall(folder)
    from_card = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert {s: from_card[s].num_rows for s in from_card} == {s: c["total"] for s, c in counts.items() if c["total"]}


def test_round_trip_through_the_import_endpoint(client, dataset_id, make_dataset, import_jsonl):
    export = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={"format": "trl_messages"}).json()
    body = b"".join(client.get(f"/api/v1/exports/{export['id']}/files/{s}.jsonl").content
                    for s in ("train", "validation", "test"))
    target = make_dataset("round-trip")
    assert import_jsonl(target["id"], body).json()["imported"] == 50
    back = client.get(f"/api/v1/datasets/{target['id']}/examples", params={"limit": 100}).json()["items"]
    original = client.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 100}).json()["items"]
    assert sorted((e["input"], e["output"]) for e in back) == sorted((e["input"], e["output"]) for e in original)
