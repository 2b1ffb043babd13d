import json


def test_create_list_get_update_delete_example(client, make_dataset):
    ds = make_dataset()
    created = client.post(f"/api/v1/datasets/{ds['id']}/examples",
                          json={"input": "What is 2+2?", "output": "4", "external_id": "q1"})
    assert created.status_code == 201, created.text
    example = created.json()
    assert example["external_id"] == "q1" and example["version"] == 1

    page = client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"limit": 10}).json()
    assert page["total"] == 1 and page["items"][0]["id"] == example["id"]

    patched = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 1, "output": "four"})
    assert patched.status_code == 200 and patched.json()["version"] == 2

    stale = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 1, "output": "4!"})
    assert stale.status_code == 409
    assert client.get(f"/api/v1/examples/{example['id']}").json()["output"] == "four"

    revisions = client.get(f"/api/v1/examples/{example['id']}/revisions").json()
    assert [(r["field"], r["old"], r["new"]) for r in revisions] == [("output", "4", "four")]

    assert client.delete(f"/api/v1/examples/{example['id']}").status_code == 204
    assert client.get(f"/api/v1/examples/{example['id']}").status_code == 404


def test_import_then_reimport_updates_instead_of_duplicating(client, make_dataset, import_jsonl):
    ds = make_dataset()
    lines = [json.dumps({"id": i, "prompt": f"p{i}", "completion": f"c{i}"}) for i in range(3)]
    first = import_jsonl(ds["id"], "\n".join(lines))
    assert first.json() == {"imported": 3, "updated": 0, "skipped": 0, "format": "prompt_completion", "errors": []}
    lines[1] = json.dumps({"id": 1, "prompt": "p1", "completion": "changed"})
    second = import_jsonl(ds["id"], "\n".join(lines)).json()
    assert (second["imported"], second["updated"]) == (0, 3)
    page = client.get(f"/api/v1/datasets/{ds['id']}/examples").json()
    assert page["total"] == 3
    changed = next(e for e in page["items"] if e["external_id"] == "1")
    assert changed["output"] == "changed" and changed["version"] == 2


def test_abort_imports_nothing_and_reports_line_and_field(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = '{"prompt": "a", "completion": "b"}\n{"prompt": 3, "completion": "b"}\n{not json}\n'
    response = import_jsonl(ds["id"], body)
    assert response.status_code == 422
    result = response.json()
    assert result["imported"] == 0
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(2, "prompt"), (3, None)]
    assert client.get(f"/api/v1/datasets/{ds['id']}/examples").json()["total"] == 0

    skipped = import_jsonl(ds["id"], body, on_error="skip").json()
    assert (skipped["imported"], skipped["skipped"]) == (1, 2)
