"""Issue #13 points 3 and 10: one nesting limit everywhere, and the encoding cases, answered with 422s
that name the field; nothing stored can fail to serialise later."""

import json

import pytest
from sqlalchemy import text

from app.db import session_scope
from app.json_limits import MAX_JSON_DEPTH, TOO_DEEP_KEY
from app.maintenance import repair_stored_json


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def nested_json(depth: int) -> str:
    return '{"k":' * (depth - 1) + '{"leaf":1}' + "}" * (depth - 1)


def _raw(client, method: str, url: str, body: str):
    return client.request(method, url, content=body.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 256, 494, 1023, 5000, 100_000])
def test_deep_json_is_a_422_naming_the_field_everywhere(client, make_dataset, depth):
    dataset = make_dataset("deep")
    example = client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "q", "output": "a"}).json()
    deep = nested_json(depth)
    cases = [
        ("POST", f"/api/v1/datasets/{dataset['id']}/examples", '{"input": "q", "output": "a", "metadata": %s}' % deep, "metadata"),
        ("PATCH", f"/api/v1/examples/{example['id']}", '{"version": 1, "metadata": %s}' % deep, "metadata"),
        ("POST", "/api/v1/datasets", '{"name": "s%d", "settings": %s}' % (depth, deep), "settings"),
        ("POST", "/api/v1/datasets", '{"name": "o%d", "output_schema": %s}' % (depth, deep), "output_schema"),
        ("PATCH", f"/api/v1/datasets/{dataset['id']}", '{"settings": %s}' % deep, "settings"),
    ]
    for method, url, body, field in cases:
        response = _raw(client, method, url, body)
        assert response.status_code == 422, (method, url, depth, response.status_code, response.text[:200])
        if depth < 1000:  # beyond the JSON parser's own limit the body as a whole is refused
            assert field in response.json()["detail"], response.text[:300]
    assert client.get(f"/api/v1/examples/{example['id']}").status_code == 200
    assert client.get(f"/api/v1/datasets/{dataset['id']}/examples").status_code == 200


def test_json_at_the_limit_is_stored_and_read_back(client, make_dataset):
    dataset = make_dataset("ok")
    created = client.post(f"/api/v1/datasets/{dataset['id']}/examples",
                          json={"input": "q", "output": "a", "metadata": nested(MAX_JSON_DEPTH)})
    assert created.status_code == 201, created.text
    assert client.get(f"/api/v1/examples/{created.json()['id']}").json()["metadata"] == nested(MAX_JSON_DEPTH)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 600])
def test_deep_import_lines_are_refused_with_line_and_field(client, make_dataset, import_jsonl, depth):
    dataset = make_dataset("imp")
    line = '{"prompt": "q", "completion": "a", "metadata": %s}' % nested_json(depth)
    response = import_jsonl(dataset["id"], '{"prompt": "p", "completion": "c"}\n' + line)
    assert response.status_code == 422, response.text[:300]
    errors = response.json()["errors"]
    assert errors[0]["line"] == 2 and errors[0]["field"] == "metadata"
    assert client.get(f"/api/v1/datasets/{dataset['id']}/examples").status_code == 200


def test_rows_stored_before_the_limit_are_repaired(client, make_dataset):
    dataset = make_dataset("old")
    example = client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "q", "output": "a"}).json()
    raw = nested_json(300)
    with session_scope() as session:
        session.execute(text("UPDATE examples SET metadata = " + ("CAST(:m AS JSON)" if session.get_bind().dialect.name == "postgresql" else ":m")
                             + " WHERE id = :id"), {"m": raw, "id": example["id"]})
    with session_scope() as session:
        assert repair_stored_json(session.connection()) == 1
    response = client.get(f"/api/v1/examples/{example['id']}")
    assert response.status_code == 200
    assert json.loads(response.json()["metadata"][TOO_DEEP_KEY]) == json.loads(raw)


# -- 10. encoding ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ('{"name": "x", "task_type": "classification", "label_set": ["a", "\\ud800"]}', "label_set"),
    ('{"name": "x", "output_schema": {"type": "string", "description": "\\udc00"}}', "output_schema"),
    ('{"name": "x\\u0000y"}', "name"),
    ('{"name": "x", "settings": {"near_duplicate": {"threshold": NaN}}}', "settings"),
    ('{"name": "x", "settings": {"format": {"max_tokens": Infinity}}}', "settings"),
])
def test_dataset_definitions_refuse_what_no_database_stores(client, body, field):
    response = _raw(client, "POST", "/api/v1/datasets", body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


@pytest.mark.parametrize(("extra", "field"), [('"metadata": {"x": NaN}', "metadata"),
                                              ('"metadata": {"x": [1, -Infinity]}', "metadata"),
                                              ('"weight": Infinity', "weight"), ('"weight": NaN', "weight")])
def test_examples_refuse_nan_and_infinity_as_imports_do(client, make_dataset, extra, field):
    dataset = make_dataset("nums")
    response = _raw(client, "POST", f"/api/v1/datasets/{dataset['id']}/examples", '{"input": "q", %s}' % extra)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_example_text_follows_the_importer(client, make_dataset, import_jsonl):
    dataset = make_dataset("text")
    via_api = _raw(client, "POST", f"/api/v1/datasets/{dataset['id']}/examples",
                   '{"input": "a\\u0000b\\ud800", "output": "x"}')
    assert via_api.status_code == 201, via_api.text
    assert import_jsonl(dataset["id"], '{"prompt": "c\\u0000d\\ud800", "completion": "y"}').status_code in (200, 201)
    inputs = sorted(e["input"] for e in client.get(f"/api/v1/datasets/{dataset['id']}/examples").json()["items"])
    assert inputs == ["a\ufffdb\ufffd", "c\ufffdd\ufffd"]


def test_a_nul_in_a_search_is_named(client, make_dataset):
    dataset = make_dataset("nul")
    response = client.get(f"/api/v1/datasets/{dataset['id']}/examples", params={"q": "a\x00b"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert "NUL" in response.json()["detail"]


def test_the_web_edit_form_answers_422_for_what_the_api_refuses(app, client, make_dataset, make_user):
    from fastapi.testclient import TestClient

    dataset = make_dataset("web")
    example = client.post(f"/api/v1/datasets/{dataset['id']}/examples", json={"input": "q", "output": "a"}).json()
    admin = make_user("web-editor", "admin")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as browser:
        browser.cookies.set("winnow_session", admin["session_cookie"])
        browser.get("/")
        response = browser.post(f"/examples/{example['id']}/edit", data={
            "version": "1", "label": "x" * 600, "csrf_token": browser.cookies.get("winnow_csrf")})
    assert response.status_code == 422 and "label" in response.text
