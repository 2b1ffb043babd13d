"""Issue #13.2: output-schema patterns run in linear time (RE2), recursive or remote $ref is refused at save."""

import threading
import time

import pytest

from app.output_schema import output_validator

EVIL = {"type": "string", "pattern": "^(a+)+$"}
EVIL_OUTPUT = "a" * 40 + "!"  # about 2**40 steps for a backtracking engine


def test_a_catastrophic_pattern_is_decided_in_linear_time():
    errors = list(output_validator(EVIL).iter_errors(EVIL_OUTPUT))
    assert len(errors) == 1 and "does not match" in errors[0].message
    assert not list(output_validator(EVIL).iter_errors("aaaa"))
    props = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}}}
    assert len(list(output_validator(props).iter_errors({EVIL_OUTPUT: "x", "aaa": "not an integer"}))) == 1


def test_the_analysis_with_that_schema_finishes(client, make_dataset):
    dataset = make_dataset("redos", output_schema=EVIL)
    for output in ('"%s"' % EVIL_OUTPUT, '"aaa"'):
        assert client.post(f"/api/v1/datasets/{dataset['id']}/examples",
                           json={"input": "q " + output, "output": output}).status_code == 201
    job = client.post(f"/api/v1/datasets/{dataset['id']}/analyze").json()
    finished = threading.Event()

    def poll():
        while client.get(f"/api/v1/jobs/{job['id']}").json()["status"] in ("queued", "running"):
            time.sleep(0.2)
        finished.set()

    threading.Thread(target=poll, daemon=True).start()
    assert finished.wait(60), "the analysis did not finish: the pattern ran with backtracking"
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "succeeded"
    rules = [f["details"]["rules"] for f in client.get(f"/api/v1/datasets/{dataset['id']}/findings",
                                                        params={"check": "format"}).json()["items"]]
    assert rules == [["output_schema"]]


@pytest.mark.parametrize("schema", [
    {"$ref": "#"},
    {"type": "array", "items": {"$ref": "#"}},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"type": "array", "items": {"$ref": "#/$defs/a"}}},
     "$ref": "#/$defs/a"},
    {"definitions": {"node": {"properties": {"next": {"$ref": "#/definitions/node"}}}},
     "properties": {"root": {"$ref": "#/definitions/node"}}},
    {"$dynamicRef": "#meta"},
    {"$ref": "https://example.com/schema.json"},
    {"type": "object", "properties": {"p": {"$ref": "#/$defs/missing"}}},
    {"type": "string", "pattern": "(?=a)b"},
    {"type": "string", "pattern": "(a)\\1"},
])
def test_recursive_remote_or_backtracking_schemas_are_refused_at_save(client, make_dataset, schema):
    response = client.post("/api/v1/datasets", json={"name": "s", "output_schema": schema})
    assert response.status_code == 422, response.text
    assert "output_schema" in response.text
    dataset = make_dataset("later")
    assert client.patch(f"/api/v1/datasets/{dataset['id']}", json={"output_schema": schema}).status_code == 422


@pytest.mark.parametrize("schema", [
    {"$defs": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
     "type": "object", "properties": {"first": {"$ref": "#/$defs/name"}, "last": {"$ref": "#/$defs/name"}}},
    {"type": "object", "properties": {"$ref": {"type": "string"}}},
])
def test_ordinary_references_are_accepted(client, schema):
    assert client.post("/api/v1/datasets", json={"name": "fine", "output_schema": schema}).status_code == 201
