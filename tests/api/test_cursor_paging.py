"""Keyset paging of the API lists: every row once, with inserts between pages, ties, filters and
search; counts capped, exact on request, carried by the cursor, and right after import/delete."""

import json

import pytest
from sqlalchemy import insert

from app.models import Finding, utcnow
from app.services import paging


def walk(client, path: str, **params) -> tuple[list[dict], list[dict]]:
    """(every item of every page, every page's answer) following next_cursor to the end."""
    items, answers, cursor = [], [], None
    while True:
        answer = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
        items += answers[-1]["items"]
        cursor = answers[-1]["next_cursor"]
        if cursor is None:
            return items, answers
        assert len(answers) < 1000


@pytest.fixture
def dataset_of(make_dataset, import_jsonl):
    def make(rows: int, name: str = "paged") -> dict:
        ds = make_dataset(name, task_type="classification")
        lines = [json.dumps({"id": f"e{i}", "prompt": f"prompt {i} {'apple' if i % 3 == 0 else 'pear'}",
                             "completion": "yes" if i % 2 else "no"}) for i in range(rows)]
        assert import_jsonl(ds["id"], "\n".join(lines)).status_code == 200
        return ds
    return make


def test_every_example_once_in_both_orders(client, dataset_of):
    ds = dataset_of(23)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    items, answers = walk(client, path, limit=5)
    ids = [e["id"] for e in items]
    assert len(ids) == 23 and ids == sorted(ids) and len(answers) == 5
    assert all(a["total"] == 23 and a["total_capped"] is False for a in answers)
    backwards, _ = walk(client, path, limit=4, order="desc")
    assert [e["id"] for e in backwards] == ids[::-1]


def test_inserts_between_pages_neither_repeat_nor_skip_rows(client, dataset_of, import_jsonl):
    ds = dataset_of(10)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    first = client.get(path, params={"limit": 4}).json()
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": f"late {i}", "completion": "c"}) for i in range(3)))
    seen = [e["id"] for e in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(path, params={"limit": 4, "cursor": cursor}).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 13
    assert seen == sorted(seen)


def test_filters_and_search_with_the_cursor(client, dataset_of):
    ds = dataset_of(30)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    apples, answers = walk(client, path, limit=3, q="APPLE")
    assert [e["external_id"] for e in apples] == [f"e{i}" for i in range(0, 30, 3)]
    assert answers[0]["total"] == 10
    labelled, _ = walk(client, path, limit=4, label="yes", q="pear")
    assert [e["external_id"] for e in labelled] == [f"e{i}" for i in range(30) if i % 2 and i % 3]
    some = client.get(path, params={"limit": 2}).json()["items"]
    client.patch(f"/api/v1/examples/{some[1]['id']}", json={"version": 1, "status": "accepted"})
    accepted, _ = walk(client, path, limit=1, status="accepted")
    assert [e["id"] for e in accepted] == [some[1]["id"]]


def test_a_cursor_of_another_list_or_garbage_is_a_clear_422(client, dataset_of):
    ds = dataset_of(3)
    for cursor in ("garbage", "e30=", paging.encode_cursor(["x", 1])):
        answer = client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"cursor": cursor})
        assert answer.status_code == 422, cursor
        assert "cursor" in answer.text


def test_offset_still_pages_and_gives_a_cursor_onwards(client, dataset_of):
    ds = dataset_of(12)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    all_ids = [e["id"] for e in walk(client, path, limit=50)[0]]
    page = client.get(path, params={"limit": 5, "offset": 5}).json()
    assert [e["id"] for e in page["items"]] == all_ids[5:10] and page["total"] == 12
    rest = client.get(path, params={"limit": 5, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in rest["items"]] == all_ids[10:]


def test_counts_are_capped_exact_on_request_and_right_after_import_and_delete(client, dataset_of, import_jsonl,
                                                                             monkeypatch):
    ds = dataset_of(8)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    capped = client.get(path, params={"limit": 2}).json()
    assert (capped["total"], capped["total_capped"]) == (5, True)
    exact = client.get(path, params={"limit": 2, "count": "exact"}).json()
    assert (exact["total"], exact["total_capped"]) == (8, False)
    monkeypatch.setattr(paging, "COUNT_CAP", 10_000)
    import_jsonl(ds["id"], json.dumps({"prompt": "one more", "completion": "c"}))
    assert client.get(path, params={"limit": 2}).json()["total"] == 9
    victim = client.get(path, params={"limit": 1}).json()["items"][0]
    assert client.delete(f"/api/v1/examples/{victim['id']}").status_code == 204
    answer = client.get(path, params={"limit": 2}).json()
    assert answer["total"] == 9 - 1
    # Later pages carry the first page's count instead of counting again.
    later = client.get(path, params={"limit": 2, "cursor": answer["next_cursor"]}).json()
    assert later["total"] == 8


def test_count_none_pages_without_a_total(client, dataset_of):
    """`count=none`: the same pages, `total` null (but on a first page that holds every match), for the
    examples (a search included) and the findings."""
    ds = dataset_of(12)
    path = f"/api/v1/datasets/{ds['id']}/examples"
    for params in ({"limit": 5}, {"limit": 2, "q": "APPLE"}):
        counted, _ = walk(client, path, **params)
        uncounted, answers = walk(client, path, count="none", **params)
        assert uncounted == counted and len(answers) > 1
        assert all(a["total"] is None and a["total_capped"] is False for a in answers)
    whole = client.get(path, params={"limit": 50, "count": "none", "q": "apple"}).json()
    assert (whole["total"], len(whole["items"])) == (4, 4)
    findings = client.get(f"/api/v1/datasets/{ds['id']}/findings", params={"count": "none"})
    assert findings.status_code == 200 and findings.json()["total"] == 0
    wrong = client.get(path, params={"count": "some"})
    assert wrong.status_code == 422 and "count" in wrong.text


def test_findings_page_by_score_with_ties_every_finding_once(client, dataset_of, session):
    ds = dataset_of(20)
    example_ids = [e["id"] for e in walk(client, f"/api/v1/datasets/{ds['id']}/examples", limit=50)[0]]
    now = utcnow()
    rows = [{"dataset_id": ds["id"], "example_id": example_id, "check": "outlier" if n % 2 else "label_issue",
             "score": [0.9, 0.5, 0.5, 0.5, 0.1][n % 5], "details": {}, "status": "open", "example_version": 1,
             "created_at": now, "updated_at": now} for n, example_id in enumerate(example_ids)]
    session.execute(insert(Finding), rows)
    session.commit()
    path = f"/api/v1/datasets/{ds['id']}/findings"
    items, answers = walk(client, path, limit=3)
    assert len(items) == 20 and len({f["id"] for f in items}) == 20
    assert [(f["score"], f["id"]) for f in items] == sorted(((f["score"], f["id"]) for f in items),
                                                            key=lambda pair: (-pair[0], pair[1]))
    assert answers[0]["total"] == 20
    outliers, _ = walk(client, path, limit=2, check="outlier")
    assert {f["id"] for f in outliers} == {f["id"] for f in items if f["check"] == "outlier"}
    assert len(outliers) == 10
    legacy = client.get(path, params={"limit": 3, "offset": 3}).json()
    assert [f["id"] for f in legacy["items"]] == [f["id"] for f in items[3:6]]


def test_search_matches_percent_and_underscore_literally(client, make_dataset, import_jsonl):
    ds = make_dataset("literal")
    texts = ["50% off", "500 off", "snake_case", "snakeXcase", "back\\slash"]
    import_jsonl(ds["id"], "\n".join(json.dumps({"prompt": t, "completion": "c"}) for t in texts))
    path = f"/api/v1/datasets/{ds['id']}/examples"
    for q, expected in (("0%", ["50% off"]), ("e_c", ["snake_case"]), ("K\\S", ["back\\slash"]), ("OFF", texts[:2])):
        assert [e["input"] for e in client.get(path, params={"q": q}).json()["items"]] == expected, q
