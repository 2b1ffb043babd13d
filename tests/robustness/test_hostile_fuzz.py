"""Issue #13: fuzzing with deep nesting and hostile Unicode, and hypothesis on settings and schemas.

1. schemathesis generates a valid request for every JSON-body operation of the OpenAPI schema;
   hypothesis then replaces fields of its body with hostile values: JSON nested up to 2,000 deep,
   lone surrogates, NUL and control characters, bidi overrides, NaN, Infinity, huge integers.
   No answer may be a 5xx, and after each case every list and read route still answers (nothing
   stored fails to serialise later).
2. Random dataset settings: 201 or 422, never a 5xx; what is accepted is usable by the analysis.
3. Random output schemas (patterns, $ref, nesting): 201 or 422; an accepted schema validates any
   output without an exception.
Bounded (max_examples) so that CI stays fast.
"""

import json
import math

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness.test_api_fuzz import HEADERS, _restore_admin, fuzzed_app, without_lifespan

CASES_PER_OPERATION = 6
SETTINGS_CASES = 40
SCHEMA_CASES = 40


def fuzz(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
STATS = {"cases": 0, "5xx": 0, "operations": 0}

HOSTILE_STRINGS = ["\x00", "\ud800", "a\udc00b", "\u202eevil", "\ufeff", "\x1b[31m", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u0085\u2028",
                   "\\", "'\"<script>", "%00", "\r\n\t", "ﷺ" * 50, "x" * 5000]
hostile_text = st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE_STRINGS),
                         st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=8))


def _nest(depth: int, kind: int) -> object:
    value: object = "leaf"
    for level in range(depth):
        value = {"k": value} if (level + kind) % 2 else [value]
    return value


deep_json = st.builds(_nest, st.integers(1, 2000), st.integers(0, 1))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), hostile_text)
hostile_json = st.one_of(deep_json, st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(hostile_text, children, max_size=3)), max_leaves=8))

schema = schemathesis.openapi.from_dict(fuzzed_app.openapi())
JSON_OPERATIONS = [(path, method) for path, methods in fuzzed_app.openapi()["paths"].items()
                   for method, spec in methods.items()
                   if "application/json" in spec.get("requestBody", {}).get("content", {})]
PATH_IDS = {"dataset_id": 1, "example_id": 1, "finding_id": 1, "user_id": 1, "job_id": 1, "token_id": 1, "export_id": 1}
READ_BACK = ["/api/v1/datasets", "/api/v1/datasets/1", "/api/v1/datasets/1/examples", "/api/v1/examples/1",
             "/api/v1/examples/1/revisions"]


@pytest.fixture
def api(database):
    _restore_admin()
    with TestClient(without_lifespan, headers=HEADERS, raise_server_exceptions=False) as client:
        client.post("/api/v1/datasets", json={"name": "fuzz", "task_type": "classification", "label_set": ["a", "b"]})
        client.post("/api/v1/datasets/1/examples", json={"input": "x", "output": "a"})
        yield client


def _send(api, method: str, path: str, body) -> int:
    content = json.dumps(body, allow_nan=True).encode()  # ensure_ascii: lone surrogates travel as \\ud800
    response = api.request(method, path, content=content, headers={"content-type": "application/json"})
    return response.status_code


@pytest.mark.parametrize(("path", "method"), JSON_OPERATIONS)
def test_hostile_values_in_every_json_body(api, path, method):
    operation = schema[path][method.upper()]
    params = {name: value for name, value in PATH_IDS.items() if "{" + name + "}" in path}
    STATS["operations"] += 1

    @fuzz(CASES_PER_OPERATION)
    @given(case=operation.as_strategy(path_parameters=params), data=st.data())
    def run(case, data):
        _restore_admin()
        body = case.body if isinstance(case.body, dict) else {}
        for key in data.draw(st.lists(st.sampled_from(sorted(body) or ["extra"]), max_size=3, unique=True)):
            body[key] = data.draw(hostile_json)
        status = _send(api, method.upper(), case.formatted_path, body)
        STATS["cases"] += 1
        failures = [f"{method.upper()} {case.formatted_path} -> {status}"] if status >= 500 else []
        failures += [f"GET {url} -> {code}" for url in READ_BACK if (code := api.get(url).status_code) >= 500]
        STATS["5xx"] += len(failures)
        assert not failures, failures

    run()


setting_values = st.one_of(st.integers(-(10 ** 12), 10 ** 12), st.floats(allow_nan=True, allow_infinity=True),
                           st.booleans(), st.none(), hostile_text, st.lists(st.integers(), max_size=3))
CHECK_NAMES = ["near_duplicate", "label_issue", "format", "outlier", "class_imbalance", "exact_duplicate",
               "conflicting_output", "no_such_check"]
KEYS = ["k", "threshold", "folds", "C", "share_factor", "max_tokens", "enabled", "min_examples", "contamination",
        "check_whitespace", "surprise"]
dataset_settings = st.dictionaries(st.sampled_from(CHECK_NAMES), st.one_of(
    st.dictionaries(st.sampled_from(KEYS), setting_values, max_size=4), setting_values), max_size=3)


def test_random_settings_are_accepted_only_when_usable(api):
    from app.checks.registry import effective_settings

    @fuzz(SETTINGS_CASES)
    @given(value=dataset_settings)
    def run(value):
        STATS["cases"] += 1
        STATS["names"] = STATS.get("names", 0) + 1
        response = api.post("/api/v1/datasets", content=json.dumps({"name": f"s {STATS['names']}", "settings": value},
                                                                   allow_nan=True),
                            headers={"content-type": "application/json"})
        assert response.status_code in (201, 422), response.text[:300]
        if response.status_code == 201:
            stored = response.json()["settings"]
            effective_settings(stored)  # the analysis will accept what was accepted
            api.delete(f"/api/v1/datasets/{response.json()['id']}")
        else:
            assert response.json()["detail"]

    run()


patterns = st.one_of(st.sampled_from(["^(a+)+$", "(a|aa)*b", "(?=x)", "(a)\\1", "[", "\\d{1,3}", "(?i)abc", "^$",
                                      "x{1000}{1000}", "\\p{L}+", ".*.*.*=.*"]), st.text(max_size=10))
schema_nodes = st.recursive(
    st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "object", "array", "boolean"])}),
              st.fixed_dictionaries({"type": st.just("string"), "pattern": patterns}),
              st.fixed_dictionaries({"$ref": st.sampled_from(["#", "#/$defs/a", "#/$defs/missing", "http://x/y",
                                                              "#/properties/p"])})),
    lambda children: st.one_of(
        st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(st.sampled_from(["p", "q", "$ref"]), children, max_size=2)}),
        st.fixed_dictionaries({"type": st.just("array"), "items": children}),
        st.fixed_dictionaries({"patternProperties": st.dictionaries(patterns, children, max_size=2)}),
        st.fixed_dictionaries({"$defs": st.fixed_dictionaries({"a": children}), "anyOf": st.lists(children, max_size=2)})),
    max_leaves=6)
outputs = st.one_of(st.text(max_size=60), st.just("a" * 60 + "!"), st.builds(json.dumps, hostile_json.filter(
    lambda v: not isinstance(v, float) or math.isfinite(v))))


def test_random_output_schemas_are_saved_only_when_safe(api):
    from app.output_schema import output_validator

    @fuzz(SCHEMA_CASES)
    @given(output_schema=schema_nodes, output=outputs)
    def run(output_schema, output):
        STATS["cases"] += 1
        STATS["names"] = STATS.get("names", 0) + 1
        response = api.post("/api/v1/datasets", json={"name": f"schema {STATS['names']}", "output_schema": output_schema})
        assert response.status_code in (201, 422), response.text[:300]
        if response.status_code == 201:
            try:
                instance = json.loads(output)
            except (ValueError, RecursionError):
                instance = output
            list(output_validator(response.json()["output_schema"]).iter_errors(instance))
            api.delete(f"/api/v1/datasets/{response.json()['id']}")

    run()


def test_report(capsys):
    """Prints the figures quoted in the README (run the file with -s)."""
    with capsys.disabled():
        print(f"\nhostile fuzz: {STATS['operations']} JSON-body operations, {STATS['cases']} cases, {STATS['5xx']} 5xx")
    assert STATS["5xx"] == 0
