"""A bulk write gathers Postgres's planner statistics itself: autovacuum may be minutes away, or off,
and a table that grew from nothing would be planned as nearly empty."""

import json

from sqlalchemy import text
from sqlmodel import Session

from app.db import refresh_planner_statistics


def _rows(n: int, start: int = 0) -> str:
    return "\n".join(json.dumps({"prompt": f"question {i}", "completion": f"answer {i}"}) for i in range(start, start + n))


def test_an_import_of_many_rows_analyzes_examples_and_a_small_one_does_not(database, make_dataset, import_jsonl):
    dataset = make_dataset("statistics")
    if database.dialect.name != "postgresql":
        with Session(database) as session:
            assert refresh_planner_statistics(session, "examples", 1_000_000) is False  # SQLite plans without
        return

    def planned_rows() -> float:
        with database.connect() as connection:
            return connection.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'examples'"))

    with database.connect() as connection:
        connection.execute(text("ANALYZE examples"))
        connection.commit()
        before = connection.scalar(text("SELECT count(*) FROM examples"))
    assert planned_rows() == before  # under 30,000 rows ANALYZE reads them all: the count is exact

    assert import_jsonl(dataset["id"], _rows(2_000)).status_code == 200
    assert planned_rows() == before + 2_000
    assert import_jsonl(dataset["id"], _rows(60, start=2_000)).status_code == 200  # under 50 + a tenth
    assert planned_rows() == before + 2_000
