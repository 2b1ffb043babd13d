"""Datasets CRUD through /api/v1/datasets."""


def test_create_read_update_delete(client, make_dataset):
    ds = make_dataset("reviews", description="movie reviews", task_type="classification", label_set=["pos", "neg"],
                      output_schema={"type": "string"})
    assert (ds["name"], ds["task_type"], ds["label_set"], ds["example_count"]) == ("reviews", "classification",
                                                                                  ["pos", "neg"], 0)
    got = client.get(f"/api/v1/datasets/{ds['id']}").json()
    assert got["output_schema"] == {"type": "string"} and got["description"] == "movie reviews"

    patched = client.patch(f"/api/v1/datasets/{ds['id']}", json={"description": "new", "settings": {"max_tokens": 9}})
    assert patched.status_code == 200
    assert (patched.json()["description"], patched.json()["settings"], patched.json()["name"]) == (
        "new", {"max_tokens": 9}, "reviews")

    assert client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 204
    assert client.get(f"/api/v1/datasets/{ds['id']}").status_code == 404
    assert client.delete(f"/api/v1/datasets/{ds['id']}").status_code == 404


def test_unique_name_is_409(client, make_dataset):
    make_dataset("a")
    other = make_dataset("b")
    duplicate = client.post("/api/v1/datasets", json={"name": "a"})
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "name"
    rename = client.patch(f"/api/v1/datasets/{other['id']}", json={"name": "a"})
    assert rename.status_code == 409
    assert client.patch(f"/api/v1/datasets/{other['id']}", json={"name": "b"}).status_code == 200


def test_invalid_input_is_422_with_the_field(client, make_dataset):
    bad_schema = client.post("/api/v1/datasets", json={"name": "s", "output_schema": {"type": "nonsense"}})
    assert bad_schema.status_code == 422 and bad_schema.json()["field"] == "output_schema"
    bad_task = client.post("/api/v1/datasets", json={"name": "t", "task_type": "regression"})
    assert bad_task.status_code == 422 and bad_task.json()["errors"][0]["field"] == "task_type"
    blank = client.post("/api/v1/datasets", json={"name": "  "})
    assert blank.status_code == 422
    labels = client.post("/api/v1/datasets", json={"name": "l", "label_set": ["a", "a"]})
    assert labels.status_code == 422
    ds = make_dataset("ok")
    assert client.patch(f"/api/v1/datasets/{ds['id']}", json={"output_schema": {"type": 3}}).status_code == 422
    assert client.get("/api/v1/datasets").json()["total"] == 1


def test_pagination_and_example_counts(client, make_dataset, import_jsonl):
    ids = [make_dataset(f"d{i}")["id"] for i in range(5)]
    import_jsonl(ids[1], '{"prompt": "a", "completion": "b"}\n{"prompt": "c", "completion": "d"}\n')
    page = client.get("/api/v1/datasets", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [(d["name"], d["example_count"]) for d in page["items"]] == [("d1", 2), ("d2", 0)]
    assert client.get("/api/v1/datasets", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/datasets", params={"offset": -1}).status_code == 422
