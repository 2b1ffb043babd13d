"""Hostile import bodies (hypothesis): random bytes, deep JSON, huge lines, invalid UTF-8, NUL bytes.

Through the real HTTP endpoint: the answer is never a 5xx, and what reaches the database is
exactly what the answer reports: with on_error=abort either every line or none of them (the
write batch is shrunk to 2 rows, so "half a batch" would show).
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.config import get_settings
from app.db import session_scope
from app.models import Example

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40).filter(str.strip)
good_lines = st.builds(lambda p, c: json.dumps({"prompt": p, "completion": c}).encode(), texts, texts)
hostile_lines = st.one_of(
    st.binary(max_size=200),                                                     # random bytes
    st.integers(1, 50_000).map(lambda d: b"[" * d + b"]" * d),                  # deep JSON arrays
    st.integers(1, 50_000).map(lambda d: b'{"a":' * d + b"1" + b"}" * d),      # deep JSON objects
    st.just(b'{"prompt": "' + b"x" * 3_000_000 + b'", "completion": "y"}'),     # a 3 MB line
    st.just(b'prompt,completion\n"unterminated,x\n'),                              # broken CSV
    st.just(b'\x80\x81,completion\nx,y'),                                           # non-UTF-8 CSV header
    st.just(b'{"prompt": "caf\xe9", "completion": "x"}'),                       # Latin-1, not UTF-8
    st.just(b'{"prompt": "a\x00b", "completion": "c"}'),                        # raw NUL byte
    st.just(b'{"prompt": "a\\u0000b", "completion": "c\\ud800"}'),              # escaped NUL, lone surrogate
    st.just(b'{"prompt": NaN, "completion": Infinity}'),
    st.just(b'{"prompt": 1e999, "completion": [1, 2]}'),
    st.just(b'\xef\xbb\xbf{"prompt": "bom", "completion": "x"}'),
)
bodies = st.lists(st.one_of(good_lines, hostile_lines), min_size=1, max_size=8).map(b"\n".join)


def example_count(dataset_id: int) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Example).where(Example.dataset_id == dataset_id))


@pytest.fixture
def small_batches(app):
    app.dependency_overrides[get_settings] = lambda: get_settings().model_copy(update={"import_batch_size": 2})


@pytest.fixture
def dataset_id(small_batches, make_dataset):
    return make_dataset("fuzz")["id"]


def post(client, dataset_id, body: bytes, content_type: str, on_error: str):
    return client.post(f"/api/v1/datasets/{dataset_id}/import", params={"on_error": on_error}, content=body,
                       headers={"content-type": content_type})


@FUZZ
@given(body=bodies, content_type=st.sampled_from(["application/x-ndjson", "text/csv", "application/json"]))
def test_abort_imports_every_line_or_none(client, dataset_id, body, content_type):
    before = example_count(dataset_id)
    response = post(client, dataset_id, body, content_type, "abort")
    assert response.status_code in (200, 413, 422), response.text[:500]
    added = example_count(dataset_id) - before
    if response.status_code == 200:
        result = response.json()
        assert result["skipped"] == 0 and result["errors"] == []
        assert added == result["imported"]
    else:
        assert added == 0, f"{added} rows written by an import answered {response.status_code}"
        if response.status_code == 422 and "errors" in response.json():
            assert all(isinstance(e.get("message"), str) for e in response.json()["errors"])


@FUZZ
@given(body=bodies)
def test_skip_imports_exactly_what_it_reports(client, dataset_id, body):
    before = example_count(dataset_id)
    response = post(client, dataset_id, body, "application/x-ndjson", "skip")
    assert response.status_code in (200, 413, 422), response.text[:500]
    if response.status_code == 200:
        result = response.json()
        assert example_count(dataset_id) - before == result["imported"]
    else:
        assert example_count(dataset_id) == before


@FUZZ
@given(payload=st.binary(max_size=3000), filename=st.sampled_from(["a.jsonl", "a.csv", "a.json", "a.bin", ""]))
def test_multipart_uploads_of_random_bytes_never_crash(client, dataset_id, payload, filename):
    before = example_count(dataset_id)
    response = client.post(f"/api/v1/datasets/{dataset_id}/import", files={"file": (filename, payload)})
    assert response.status_code in (200, 413, 422), response.text[:500]
    if response.status_code != 200:
        assert example_count(dataset_id) == before


def test_a_bad_last_line_after_many_full_batches_imports_nothing(client, dataset_id):
    lines = [json.dumps({"prompt": f"p{i}", "completion": "c"}) for i in range(9)] + ['{"prompt": ']
    response = post(client, dataset_id, "\n".join(lines).encode(), "application/x-ndjson", "abort")
    assert response.status_code == 422 and response.json()["errors"][0]["line"] == 10
    assert example_count(dataset_id) == 0
