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
    assert first.json() == {"imported": 3, "updated": 0, "skipped": 0, "format": "prompt_completion", "errors": [],
                            "already_in_other_datasets": None}
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


def test_patch_records_every_changed_field_and_rejects_stale_versions(client, make_dataset):
    ds = make_dataset()
    example = client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": "q", "output": "a"}).json()
    first = client.patch(f"/api/v1/examples/{example['id']}",
                         json={"version": 1, "input": "q2", "metadata": {"k": 1}, "status": "accepted"})
    assert first.status_code == 200 and first.json()["version"] == 2
    assert first.json()["content_hash"] != example["content_hash"]
    unchanged = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 2, "input": "q2"})
    assert unchanged.json()["version"] == 2  # nothing changed: no new version, no revision
    second = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 2, "output": "b"})
    assert second.json()["version"] == 3
    stale = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 2, "output": "lost"})
    assert stale.status_code == 409 and stale.json()["current_version"] == 3
    revisions = client.get(f"/api/v1/examples/{example['id']}/revisions").json()
    assert [(r["version"], r["field"], r["old"], r["new"]) for r in revisions] == [
        (2, "input", "q", "q2"), (2, "metadata", None, {"k": 1}), (2, "status", "pending", "accepted"),
        (3, "output", "a", "b")]
    assert client.patch(f"/api/v1/examples/{example['id']}", json={"version": 3, "input": None}).status_code == 422
    assert client.patch("/api/v1/examples/9999", json={"version": 1, "input": "x"}).status_code == 404


def test_classification_patch_keeps_label_and_output_together(client, make_dataset):
    ds = make_dataset(task_type="classification")
    example = client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": "q", "output": "x"}).json()
    assert example["label"] == "x"
    patched = client.patch(f"/api/v1/examples/{example['id']}", json={"version": 1, "label": "y"}).json()
    assert (patched["output"], patched["label"]) == ("y", "y")


def test_list_filters(client, make_dataset, import_jsonl):
    ds = make_dataset()
    import_jsonl(ds["id"], "".join(json.dumps({"prompt": f"apple {i}" if i % 2 else f"pear {i}", "completion": "c",
                                                "label": "even" if i % 2 == 0 else "odd"}) + "\n" for i in range(6)))
    url = f"/api/v1/datasets/{ds['id']}/examples"
    assert client.get(url, params={"label": "odd"}).json()["total"] == 3
    assert client.get(url, params={"q": "APPLE"}).json()["total"] == 3
    assert client.get(url, params={"status": "accepted"}).json()["total"] == 0
    page = client.get(url, params={"limit": 2, "offset": 4}).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    assert client.get("/api/v1/datasets/999/examples").status_code == 404


def test_deleting_a_dataset_deletes_its_examples_and_revisions(client, make_dataset, import_jsonl, database):
    from sqlalchemy import text

    ds = make_dataset()
    keep = make_dataset("keep")
    import_jsonl(ds["id"], '{"id": 1, "prompt": "a", "completion": "b"}\n')
    import_jsonl(ds["id"], '{"id": 1, "prompt": "a", "completion": "changed"}\n')
    import_jsonl(keep["id"], '{"id": 1, "prompt": "a", "completion": "b"}\n')
    with database.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM revisions")).scalar() == 1
    assert client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 204
    with database.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM examples")).scalar() == 1
        assert connection.execute(text("SELECT count(*) FROM revisions")).scalar() == 0
    assert client.get(f"/api/v1/datasets/{keep['id']}/examples").json()["total"] == 1
