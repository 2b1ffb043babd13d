"""The example search on both databases: "contains", folding ASCII letters only, with the user's % and _
taken literally; on Postgres, a rare text is looked up in the pg_trgm index first and a common one read
in list order, and both give exactly ILIKE's rows."""

import json

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from app.models import Example
from app.services import text_search
from app.services.paging import CountMode
from app.services.text_search import example_text_condition
from tests.services.search_walk import search_ids


def _rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        prompt = f"common words of row {i}"
        if i % 400 == 3:
            prompt += " with a RarePhrase, inside"
        if i % 50 == 7:
            prompt += " and a MidPhrase"
        rows.append({"prompt": prompt, "completion": "École" if i == 5 else f"answer {i % 7}"})
    rows.append({"prompt": "100% sure_thing", "completion": "école"})
    return rows


def _ids_where(database, dataset_id: int, condition: str, **params) -> list[int]:
    with database.connect() as connection:
        return list(connection.execute(text(f"SELECT id FROM examples WHERE dataset_id = :d AND ({condition}) "
                                             "ORDER BY id"), {"d": dataset_id, **params}).scalars())


@pytest.fixture
def dataset(make_dataset, import_jsonl):
    ds = make_dataset("text-search", task_type="generation")
    response = import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _rows(2_400)))
    assert response.status_code == 200, response.text
    return ds


def test_search_folds_ascii_letters_only_and_takes_wildcards_literally(database, dataset):
    every = _ids_where(database, dataset["id"], "1 = 1")
    rare = search_ids(database, dataset["id"], "rarephrase, INSIDE")
    assert len(rare) == 6 and rare == search_ids(database, dataset["id"], "RarePhrase, inside")
    assert search_ids(database, dataset["id"], "100%") == [every[-1]]
    assert search_ids(database, dataset["id"], "s_r") == []  # `_` is an underscore, not any character ("sur")
    assert search_ids(database, dataset["id"], "sure_thing") == [every[-1]]
    # Non-ASCII letters are compared as they are, on both databases.
    assert search_ids(database, dataset["id"], "école") == [every[-1]]
    assert search_ids(database, dataset["id"], "École") == [every[5]]
    assert search_ids(database, dataset["id"], "ÉCOLE") == [every[5]]  # its ASCII letters folded
    assert search_ids(database, dataset["id"], "éCOLE") == [every[-1]]


def test_postgres_looks_up_a_rare_text_in_the_index_and_reads_a_common_one_in_order(database, dataset):
    if database.dialect.name != "postgresql":
        pytest.skip("Postgres's plan; SQLite's is in test_search_index.py")
    ilike = "input ILIKE :p OR output ILIKE :p"
    with Session(database) as session:
        rare = example_text_condition(session, "RarePhrase", dataset["id"])
        common = example_text_condition(session, "common words", dataset["id"])
        assert rare.by_index and not common.by_index
        session.execute(text("ANALYZE examples"))
        # A small table: ask for the index it would use at scale.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        query = text("EXPLAIN SELECT id FROM examples WHERE input ILIKE :p")
        plan = "\n".join(session.execute(query, {"p": "%RarePhrase%"}).scalars())
        assert "ix_examples_input_trgm" in plan  # the index serves ILIKE under the columns' "C" collation
    rare_rows = _ids_where(database, dataset["id"], ilike, p="%rarephrase%")
    assert search_ids(database, dataset["id"], "RarePhrase") == rare_rows
    assert search_ids(database, dataset["id"], "common words") == _ids_where(database, dataset["id"], ilike,
                                                                          p="%COMMON WORDS%")


def test_a_small_dataset_is_read_in_order_without_the_index(database, make_dataset, import_jsonl):
    if database.dialect.name != "postgresql":
        pytest.skip("Postgres's plan")
    ds = make_dataset("small-search", task_type="generation")
    import_jsonl(ds["id"], "\n".join(json.dumps(r) for r in _rows(50)))
    with Session(database) as session:
        assert text_search.PROBE_ROWS > 51
        assert not example_text_condition(session, "RarePhrase", ds["id"]).by_index


def test_postgres_index_lookup_gives_the_count_and_stops_at_the_cap(database, dataset, monkeypatch):
    if database.dialect.name != "postgresql":
        pytest.skip("Postgres's plan")
    from app.services import paging
    from app.services.examples import list_examples

    ilike = "input ILIKE :p OR output ILIKE :p"
    rare = _ids_where(database, dataset["id"], ilike, p="%rarephrase%")
    with Session(database) as session:
        found = example_text_condition(session, "RarePhrase", dataset["id"])
        assert found.by_index and found.count == paging.Count(len(rare))
        first = list_examples(session, dataset["id"], q="RarePhrase", limit=4)
        assert [e.id for e in first.items] == rare[:4] and (first.total, first.total_capped) == (len(rare), False)
        # The planner settings that steer the lookup end with it.
        assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"
        assert session.execute(text("SHOW enable_indexscan")).scalar() == "on"
        # More matches than the cap: the rows are read in id order, and the count is the cap.
        monkeypatch.setattr(paging, "COUNT_CAP", 4)
        many = example_text_condition(session, "RarePhrase", dataset["id"])
        assert not many.by_index and many.count == paging.Count(4, capped=True)
        capped = list_examples(session, dataset["id"], q="RarePhrase", limit=3)
        assert [e.id for e in capped.items] == rare[:3] and (capped.total, capped.total_capped) == (4, True)
        # With another filter the text's own count is not the list's.
        labelled = list_examples(session, dataset["id"], q="RarePhrase", status="pending", limit=3)
        assert [e.id for e in labelled.items] == rare[:3]
    assert search_ids(database, dataset["id"], "RarePhrase") == rare


def test_postgres_page_without_a_count_walks_in_id_order(database, dataset):
    """`count=none`: a text in at least WALK_FOR_A_PAGE_FROM of the probed rows is read in id order, in a
    form no trigram index serves, and gives exactly ILIKE's rows page after page; a rarer one is still
    looked up in the index."""
    if database.dialect.name != "postgresql":
        pytest.skip("Postgres's plan")
    mid = _ids_where(database, dataset["id"], "input ILIKE :p OR output ILIKE :p", p="%midphrase%")
    assert text_search.WALK_FOR_A_PAGE_FROM * 2_400 <= len(mid) < text_search.INDEX_FIRST_BELOW * 2_400
    with Session(database) as session:
        walked = example_text_condition(session, "MidPhrase", dataset["id"], counting=False)
        assert not walked.by_index and walked.count is None
        assert example_text_condition(session, "MidPhrase", dataset["id"]).by_index  # counted: the index
        assert example_text_condition(session, "RarePhrase", dataset["id"], counting=False).by_index
        session.execute(text("ANALYZE examples"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        query = select(Example.id).where(walked.condition).order_by(Example.id).limit(51)
        sql = str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = "\n".join(session.execute(text("EXPLAIN " + sql)).scalars())
        assert "trgm" not in plan and "examples_pkey" in plan
    assert _pages_alone(database, dataset["id"], "midphrase") == mid


def _pages_alone(database, dataset_id: int, q: str) -> list[int]:
    from app.services.examples import list_examples

    with Session(database) as session:
        ids, cursor = [], None
        while True:
            page = list_examples(session, dataset_id, q=q, limit=7, cursor=cursor, count=CountMode.none)
            assert page.total is None
            ids += [e.id for e in page.items]
            if not (cursor := page.next_cursor):
                return ids


def test_postgres_walk_gives_up_at_its_window_and_asks_the_index(database, dataset, monkeypatch):
    """A page that the walk does not fill within WALK_WINDOW_IDS (the text is rarer after the probed rows)
    is read again through the counted form: the same rows, and the walk's cost stays bounded."""
    if database.dialect.name != "postgresql":
        pytest.skip("Postgres's plan")
    mid = _ids_where(database, dataset["id"], "input ILIKE :p OR output ILIKE :p", p="%midphrase%")
    asked = []  # one entry per page read again through the index lookup
    looked_up = text_search._looked_up

    def spy(*args):
        asked.append(True)
        return looked_up(*args)

    monkeypatch.setattr(text_search, "_looked_up", spy)
    monkeypatch.setattr(text_search, "WALK_WINDOW_IDS", 500)  # a page of 7 at 2% needs ~350 ids: it fits
    assert _pages_alone(database, dataset["id"], "midphrase") == mid and len(asked) == 1  # the last page only
    asked.clear()
    monkeypatch.setattr(text_search, "WALK_WINDOW_IDS", 100)  # it does not: every page asks the index
    assert _pages_alone(database, dataset["id"], "midphrase") == mid and len(asked) >= len(mid) // 7
