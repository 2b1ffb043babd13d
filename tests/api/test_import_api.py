"""POST /api/v1/datasets/{id}/import on the database under test (SQLite or Postgres)."""

import json

import pytest

from app.config import get_settings


def jsonl(*records) -> str:
    return "\n".join(json.dumps(r) for r in records) + "\n"


def examples_of(client, dataset_id: int) -> list[dict]:
    page = client.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 1000}).json()
    assert page["total"] == len(page["items"])
    return page["items"]


@pytest.mark.parametrize(("record", "expected"), [
    ({"prompt": "p", "completion": "c"}, (None, "p", "c", None)),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u1"},
                   {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
                   {"role": "assistant", "content": "a2"}]},
     ("s", "u2", "a2", [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}])),
    ({"instruction": "i", "input": "ctx", "output": "o"}, (None, "i\n\nctx", "o", None)),
    ({"instruction": "i", "output": "o"}, (None, "i", "o", None)),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, (None, "q", "a", None)),
    ({"input": "x", "output": "y", "system": "z"}, ("z", "x", "y", None)),
])
def test_every_format_is_stored(client, make_dataset, import_jsonl, record, expected):
    ds = make_dataset()
    response = import_jsonl(ds["id"], jsonl({**record, "id": "r1", "metadata": {"src": "t"}, "weight": 0}))
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 1
    (example,) = examples_of(client, ds["id"])
    assert (example["system"], example["input"], example["output"], example["history"]) == expected
    assert (example["external_id"], example["metadata"], example["weight"]) == ("r1", {"src": "t"}, 0.0)


def test_explicit_format_and_unknown_format(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = jsonl({"input": "a", "output": "b"})
    assert import_jsonl(ds["id"], body, format="input_output").json()["format"] == "input_output"
    wrong = import_jsonl(ds["id"], body, format="prompt_completion")
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "prompt"
    unknown = import_jsonl(ds["id"], body, format="yaml")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "format"


def test_multipart_json_array_and_csv(client, make_dataset):
    ds = make_dataset()
    array = json.dumps([{"id": "a", "prompt": "p1", "completion": "c1"}, {"id": "b", "prompt": "p2", "completion": "c2"}])
    response = client.post(f"/api/v1/datasets/{ds['id']}/import",
                           files={"file": ("pairs.json", array.encode(), "application/json")})
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 2

    csv_body = "\ufeffid,instruction,input,output\r\nc,Do it,,done\r\nd,\"Say, \"\"hi\"\"\",ctx,hi\r\n"
    response = client.post(f"/api/v1/datasets/{ds['id']}/import",
                           files={"file": ("pairs.csv", csv_body.encode(), "text/csv")})
    assert response.json() == {"imported": 2, "updated": 0, "skipped": 0, "format": "alpaca", "errors": [],
                            "already_in_other_datasets": None}
    stored = {e["external_id"]: (e["input"], e["output"]) for e in examples_of(client, ds["id"])}
    assert stored == {"a": ("p1", "c1"), "b": ("p2", "c2"), "c": ("Do it", "done"), "d": ('Say, "hi"\n\nctx', "hi")}

    no_file = client.post(f"/api/v1/datasets/{ds['id']}/import", files={"other": ("x.csv", b"a", "text/csv")})
    assert no_file.status_code == 422 and no_file.json()["field"] == "file"


def test_raw_csv_body(client, make_dataset):
    ds = make_dataset()
    response = client.post(f"/api/v1/datasets/{ds['id']}/import", content=b"prompt,completion\nq,a\n",
                           headers={"content-type": "text/csv"})
    assert response.json()["imported"] == 1


def test_blank_lines_bom_crlf_and_unicode_round_trip(client, make_dataset, import_jsonl):
    ds = make_dataset()
    texts = ["emoji 👩‍👩‍👧 ok", "RTL שלום עולם مرحبا", "combining e\u0301 vs \u00e9", "zero\u200bwidth", "中文"]
    body = "\ufeff" + "\r\n\r\n".join(json.dumps({"prompt": t, "completion": t}, ensure_ascii=False) for t in texts)
    response = import_jsonl(ds["id"], body + "\r\n  \r\n")
    assert response.json()["imported"] == len(texts), response.text
    assert sorted(e["input"] for e in examples_of(client, ds["id"])) == sorted(texts)
    assert all(e["input"] == e["output"] for e in examples_of(client, ds["id"]))


def test_huge_line(client, make_dataset, import_jsonl):
    ds = make_dataset()
    big = "é" * (2_500_000)  # 5 MB of UTF-8 on one line
    response = import_jsonl(ds["id"], jsonl({"prompt": "short", "completion": "ok"}, {"prompt": big, "completion": "x"}))
    assert response.json()["imported"] == 2
    lengths = sorted(len(e["input"]) for e in examples_of(client, ds["id"]))
    assert lengths == [5, len(big)]


def test_nul_bytes_and_lone_surrogates_are_stored_as_replacement_characters(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = ('{"id": "n\\u0000", "prompt": "a\\u0000b", "completion": "c\\ud83dd", "label": "l\\udc00",'
            ' "metadata": {"k": "v\\u0000"}, "messages_note": "\\udfff"}\n')
    response = import_jsonl(ds["id"], body)
    assert response.status_code == 200, response.text
    (example,) = examples_of(client, ds["id"])
    assert example["external_id"] == "n\ufffd"
    assert (example["input"], example["output"], example["label"]) == ("a\ufffdb", "c\ufffdd", "l\ufffd")
    assert example["metadata"] == {"k": "v\ufffd", "messages_note": "\ufffd"}


def test_duplicate_id_in_one_file_is_an_error_on_the_later_line(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = jsonl({"id": "x", "prompt": "a", "completion": "b"}, {"id": "y", "prompt": "c", "completion": "d"},
                 {"id": "x", "prompt": "e", "completion": "f"})
    aborted = import_jsonl(ds["id"], body)
    assert aborted.status_code == 422
    assert [(e["line"], e["field"]) for e in aborted.json()["errors"]] == [(3, "id")]
    assert examples_of(client, ds["id"]) == []
    skipped = import_jsonl(ds["id"], body, on_error="skip").json()
    assert (skipped["imported"], skipped["skipped"]) == (2, 1)
    assert {e["external_id"]: e["input"] for e in examples_of(client, ds["id"])} == {"x": "a", "y": "c"}


def test_reimport_updates_with_revisions_and_no_duplicates(client, make_dataset, import_jsonl):
    ds = make_dataset()
    first = [{"id": i, "prompt": f"p{i}", "completion": f"c{i}"} for i in range(4)]
    assert import_jsonl(ds["id"], jsonl(*first)).json()["imported"] == 4
    second = [dict(r) for r in first] + [{"id": "new", "prompt": "pn", "completion": "cn"}]
    second[2]["completion"] = "changed"
    second[3]["prompt"] = "p3 edited"
    result = import_jsonl(ds["id"], jsonl(*second)).json()
    assert (result["imported"], result["updated"], result["skipped"]) == (1, 4, 0)
    # Retrying the same import is harmless.
    again = import_jsonl(ds["id"], jsonl(*second)).json()
    assert (again["imported"], again["updated"]) == (0, 5)

    stored = {e["external_id"]: e for e in examples_of(client, ds["id"])}
    assert len(stored) == 5
    assert stored["2"]["output"] == "changed" and stored["2"]["version"] == 2
    assert stored["3"]["input"] == "p3 edited" and stored["3"]["version"] == 2
    assert stored["0"]["version"] == 1
    assert stored["2"]["content_hash"] != stored["0"]["content_hash"]
    revisions = client.get(f"/api/v1/examples/{stored['2']['id']}/revisions").json()
    assert [(r["field"], r["old"], r["new"], r["version"], r["author"]) for r in revisions] == [
        ("output", "c2", "changed", 2, "import")]
    assert client.get(f"/api/v1/examples/{stored['0']['id']}/revisions").json() == []


def test_abort_imports_nothing_and_skip_imports_the_good_lines(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = (jsonl({"prompt": "a", "completion": "b"}) + "{oops\n" + jsonl({"prompt": "c"}) +
            jsonl({"prompt": "d", "completion": "e"}))
    aborted = import_jsonl(ds["id"], body)
    assert aborted.status_code == 422
    assert aborted.json() == {"imported": 0, "updated": 0, "skipped": 2, "format": "prompt_completion", "errors": [
        {"line": 2, "field": None, "message": aborted.json()["errors"][0]["message"]},
        {"line": 3, "field": "completion", "message": "missing field 'completion'"}],
        "already_in_other_datasets": None}
    assert examples_of(client, ds["id"]) == []
    skipped = import_jsonl(ds["id"], body, on_error="skip")
    assert skipped.status_code == 200
    assert (skipped.json()["imported"], skipped.json()["skipped"]) == (2, 2)
    assert sorted(e["input"] for e in examples_of(client, ds["id"])) == ["a", "d"]


def test_classification_label_is_the_output(client, make_dataset, import_jsonl):
    ds = make_dataset(task_type="classification", label_set=["games", "net"])
    body = jsonl({"id": 1, "prompt": "a game", "completion": "games"},
                 {"id": 2, "prompt": "a server", "completion": "", "label": "net"},
                 {"id": 3, "prompt": "unknown", "completion": "science"})  # outside the label set: kept
    assert import_jsonl(ds["id"], body).json()["imported"] == 3
    stored = {e["external_id"]: (e["output"], e["label"]) for e in examples_of(client, ds["id"])}
    assert stored == {"1": ("games", "games"), "2": ("net", "net"), "3": ("science", "science")}


def test_empty_and_whitespace_fields_are_imported_not_refused(client, make_dataset, import_jsonl):
    ds = make_dataset()
    body = jsonl({"prompt": "", "completion": ""}, {"prompt": "   ", "completion": "\t\n"},
                 {"prompt": "ctrl \x07\x1b", "completion": "x" * 100_000})
    response = import_jsonl(ds["id"], body)
    assert response.json()["imported"] == 3, response.text
    assert sorted(e["input"] for e in examples_of(client, ds["id"])) == ["", "   ", "ctrl \x07\x1b"]


def test_import_into_a_missing_dataset_is_404(client, import_jsonl):
    assert import_jsonl(999, jsonl({"prompt": "a", "completion": "b"})).status_code == 404


def test_body_over_the_limit_is_413(make_user):
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = get_settings().model_copy(update={"max_body_bytes": 1000})
    admin = make_user("admin", "admin")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {admin['token']}"}) as small:
        ds = small.post("/api/v1/datasets", json={"name": "small"}).json()
        line = jsonl({"prompt": "a" * 100, "completion": "b"})
        assert small.post(f"/api/v1/datasets/{ds['id']}/import", content=line.encode()).status_code == 200
        too_big = line.encode() * 20
        response = small.post(f"/api/v1/datasets/{ds['id']}/import", content=too_big)
        assert response.status_code == 413 and response.json()["limit"] == 1000

        def chunks():  # no Content-Length: the limit is enforced while reading
            for _ in range(20):
                yield line.encode()

        streamed = small.post(f"/api/v1/datasets/{ds['id']}/import", content=chunks())
        assert streamed.status_code == 413
        upload = small.post(f"/api/v1/datasets/{ds['id']}/import", files={"file": ("a.jsonl", too_big)})
        assert upload.status_code == 413
        assert small.get(f"/api/v1/datasets/{ds['id']}/examples").json()["total"] == 1


def test_no_transaction_is_open_while_the_body_is_validated(client, make_dataset, import_jsonl, monkeypatch, database):
    """Authentication reads the database first; that transaction must be over before the long part."""
    import sqlite3

    from app.api import examples as examples_api

    real_run_import = examples_api.run_import
    seen = []

    def spying_run_import(session, *args, **kwargs):
        seen.append(session.in_transaction())
        if database.dialect.name == "sqlite":  # another writer gets the lock at once
            other = sqlite3.connect(database.url.database, timeout=0, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            other.close()
        return real_run_import(session, *args, **kwargs)

    monkeypatch.setattr(examples_api, "run_import", spying_run_import)
    ds = make_dataset()
    assert import_jsonl(ds["id"], jsonl({"prompt": "a", "completion": "b"})).json()["imported"] == 1
    assert seen == [False]
