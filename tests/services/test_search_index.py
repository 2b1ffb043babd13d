"""SQLite's trigram index for the example search: a search gives exactly LIKE's rows before, during and
after the index is filled, after edits, deletions and reused ids, and the index is the plan it claims."""

import json

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.services import search_index
from app.services.examples import list_examples
from app.services.text_search import example_text_condition
from tests.services.search_walk import search_ids


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def _texts(n: int) -> list[dict]:
    # Each prompt holds two words; "rareword" is in a few, "Ünïcode" (non-ASCII) in one.
    rows = []
    for i in range(n):
        prompt = f"{WORDS[i % 8]} and {WORDS[(i * 3) % 8]} number {i}"
        if i % 25 == 7:
            prompt += " with a RareWord inside"
        if i == 11:
            prompt += " Ünïcode"
        rows.append({"prompt": prompt, "completion": f"answer {WORDS[(i + 1) % 8]}"})
    return rows


def _like(database, dataset_id: int, q: str) -> list[int]:
    with database.connect() as connection:
        return list(connection.execute(text(
            "SELECT id FROM examples WHERE dataset_id = :d AND (input LIKE :p OR output LIKE :p) ORDER BY id"),
            {"d": dataset_id, "p": f"%{q}%"}).scalars())


QUERIES = ["rareword", "RAREWORD", "charlie", "delta and", "answer golf", "number 1", "Ünïcode", "absentword", "ec"]


@pytest.fixture
def sqlite_only(database):
    if database.dialect.name != "sqlite":
        pytest.skip("SQLite's own index; Postgres searches through pg_trgm")


def test_every_search_is_likes_rows_before_during_and_after_filling(sqlite_only, database, make_dataset, import_jsonl):
    ds = make_dataset("search", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _texts(200)))
    expected = {q: _like(database, ds["id"], q) for q in QUERIES}
    assert expected["rareword"] and expected["charlie"] and expected["absentword"] == []
    assert {q: search_ids(database, ds["id"], q) for q in QUERIES} == expected  # nothing indexed: LIKE alone

    stops = iter([False, False, True])  # two chunks, then stop: rows above the watermark...
    assert search_index.fill(database, chunk_rows=40, should_stop=lambda: next(stops)) == 80
    with Session(database) as session:
        through = session.execute(text("SELECT indexed_through FROM example_search_state")).scalar()
        assert through > 0
        plan = search_index.plan(session, "rareword")
        assert plan is not None and plan.indexed_through == through  # ...are searched by LIKE over their ids
    assert {q: search_ids(database, ds["id"], q) for q in QUERIES} == expected

    assert search_index.fill(database) == 120
    with Session(database) as session:
        assert search_index.plan(session, "rareword").indexed_through is None  # everything indexed
        assert search_index.plan(session, "ec") is None  # shorter than a trigram: LIKE alone
    assert {q: search_ids(database, ds["id"], q) for q in QUERIES} == expected


def test_index_is_the_plan_for_a_rare_word_and_not_for_a_common_one(sqlite_only, database, make_dataset,
                                                                     import_jsonl):
    ds = make_dataset("plans", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _texts(5000)))
    search_index.fill(database)
    with Session(database) as session:
        rare = example_text_condition(session, "RareWord", ds["id"])
        assert rare.by_index
        plan = session.execute(text("EXPLAIN QUERY PLAN SELECT id FROM examples WHERE id IN "
                                    "(SELECT rowid FROM example_search WHERE example_search MATCH :m)"),
                               {"m": search_index.plan(session, "RareWord").match}).all()
        assert any("VIRTUAL TABLE" in str(row) for row in plan)
        assert not example_text_condition(session, "number", ds["id"]).by_index  # in every row: reading rows is faster
    assert search_ids(database, ds["id"], "RareWord") == _like(database, ds["id"], "RareWord")


def test_edits_deletions_and_reused_ids_stay_exact(sqlite_only, database, client, make_dataset, import_jsonl):
    ds = make_dataset("edits", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _texts(100)))
    search_index.fill(database)
    ids = _like(database, ds["id"], "rareword")
    example = client.get(f"/api/v1/examples/{ids[0]}").json()
    client.patch(f"/api/v1/examples/{ids[0]}", json={"version": example["version"], "input": "now about zeppelins"}
                 ).raise_for_status()
    assert search_ids(database, ds["id"], "rareword") == ids[1:]  # the old text's trigrams: dropped by the LIKE
    assert search_ids(database, ds["id"], "zeppelin") == [ids[0]]  # the new text: indexed by the trigger

    newest = max(_like(database, ds["id"], ""))
    client.delete(f"/api/v1/examples/{newest}").raise_for_status()
    client.delete(f"/api/v1/examples/{newest - 1}").raise_for_status()
    import_jsonl(ds["id"], json.dumps({"prompt": "a quokka arrives", "completion": "x"}))
    reused = _like(database, ds["id"], "quokka")
    assert reused and reused[0] <= newest  # SQLite gave the new row a deleted row's id, under the watermark
    assert search_ids(database, ds["id"], "quokka") == reused  # indexed by the insert trigger
    with Session(database) as session:
        assert search_index.plan(session, "quokka").indexed_through is None


def test_a_mostly_deleted_index_is_emptied_and_filled_again(sqlite_only, database, client, make_dataset,
                                                            import_jsonl, monkeypatch):
    monkeypatch.setattr(search_index, "REBUILD_MIN_ROWS", 10)
    gone = make_dataset("gone", task_type="classification")
    import_jsonl(gone["id"], "\n".join(json.dumps(r) for r in _texts(60)))
    kept = make_dataset("kept", task_type="classification")
    import_jsonl(kept["id"], "\n".join(json.dumps(r) for r in _texts(20)))
    search_index.fill(database)
    assert not search_index.rebuild_if_stale(database)
    client.delete(f"/api/v1/datasets/{gone['id']}").raise_for_status()
    assert search_index.rebuild_if_stale(database)  # 60 of 80 indexed rows deleted
    with database.connect() as connection:
        assert tuple(connection.execute(text(search_index._STATE)).one()) == (0, 0, 0)
    assert search_index.fill(database) == 20
    assert search_ids(database, kept["id"], "rareword") == _like(database, kept["id"], "rareword")


def test_the_server_fills_the_index_in_the_background(sqlite_only, database, make_dataset, import_jsonl,
                                                      monkeypatch):
    import time

    ds = make_dataset("background", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _texts(30)))
    indexer = search_index.SearchIndexer(database, poll_seconds=0.05)
    indexer.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with database.connect() as connection:
                through, rows, _ = connection.execute(text(search_index._STATE)).one()
            if rows == 30:
                break
            time.sleep(0.05)
    finally:
        indexer.stop()
    assert rows == 30 and through == max(_like(database, ds["id"], ""))


def test_quotes_and_wildcards_in_the_query_are_literal(sqlite_only, database, make_dataset, import_jsonl):
    ds = make_dataset("quotes", task_type="classification")
    rows = [{"prompt": 'say "hi" 100%_done', "completion": "a"}, {"prompt": "say hi 1000 done", "completion": "b"}]
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in rows * 30))
    search_index.fill(database)
    for q in ['"hi"', '100%_', 'y "h']:
        assert search_ids(database, ds["id"], q) == _like_escaped(database, ds["id"], q)
        assert len(search_ids(database, ds["id"], q)) == 30


def _like_escaped(database, dataset_id: int, q: str) -> list[int]:
    from app.services.text_search import ESCAPE, like_pattern

    with database.connect() as connection:
        return list(connection.execute(text(
            f"SELECT id FROM examples WHERE dataset_id = :d AND (input LIKE :p ESCAPE '{ESCAPE}' OR "
            f"output LIKE :p ESCAPE '{ESCAPE}') ORDER BY id"), {"d": dataset_id, "p": like_pattern(q)}).scalars())


def test_the_rarest_trigrams_that_do_not_overlap_are_chosen():
    probed = [(0.06, 0, "dir"), (0.13, 1, "ire"), (0.137, 2, "rec"), (0.36, 3, "ect"), (0.31, 4, "cti"),
              (0.72, 5, "tio"), (0.77, 6, "ion"), (0.16, 7, "ona"), (0.23, 8, "nal")]
    assert search_index.choose(probed) == ["dir", "ona", "cti"]
    assert search_index.choose([(0.5, 0, "abc")]) == ["abc"]
    assert [p for _, p in search_index.trigrams("abcabc")] == ["abc", "bca", "cab"]


@pytest.mark.parametrize("sort", ["oldest", "newest", "label", "updated", "score"])
def test_a_searchs_first_page_and_capped_count_come_from_one_read(sort, database, make_dataset, import_jsonl,
                                                                   monkeypatch):
    """On both databases: the window count of paging.fetch_first_counted, in every sort of the browser but
    the oldest first, whose page comes without its count: count_examples makes it."""
    from app.services import paging
    from app.services.web_examples import ExampleFilters, browse_examples, count_examples

    ds = make_dataset("counted", task_type="classification")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _texts(120)))
    search_index.fill(database) if database.dialect.name == "sqlite" else None
    expected = _like(database, ds["id"], "charlie")
    with Session(database) as session:
        page = browse_examples(session, ds["id"], ExampleFilters(q="charlie", sort=sort), limit=4)
        assert len(page.items) == 4
        if sort == "oldest":
            assert page.total is None
            assert count_examples(session, ds["id"], ExampleFilters(q="charlie", sort=sort)) == \
                paging.Count(len(expected))
        else:
            assert page.total == len(expected)
        ids, after = [e.id for e in page.items], page.next_cursor
        while after:
            page = browse_examples(session, ds["id"], ExampleFilters(q="charlie", sort=sort), after=after, limit=4)
            ids, after = ids + [e.id for e in page.items], page.next_cursor
        assert sorted(ids) == expected
        monkeypatch.setattr(paging, "COUNT_CAP", 10)
        api = list_examples(session, ds["id"], q="charlie", limit=4)
        assert (api.total, api.total_capped, len(api.items)) == (10, True, 4)
        assert [e.id for e in api.items] == expected[:4]
