"""Example-browser paging with 100,000 examples: keyset pages vs OFFSET, against bare sqlite3/DB-API.

    .venv/bin/python benchmarks/bench_browse.py                    # SQLite, 100,000 examples
    .venv/bin/python benchmarks/bench_browse.py --rows 20000 --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Measured in one process, median of --repeat runs each: the service `web_examples.browse_examples`
(a count capped at 10,000 + one page of 50) on the first and on the last page, the same last page with OFFSET through
`examples.list_examples`, the whole HTML page through the ASGI app, and as the baseline the bare
keyset SELECT of the last page on the raw DB-API connection. Rows are Debian package descriptions.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEBIAN = ROOT.parent / "shared" / "data" / "debian_packages.jsonl.gz"


def timed(fn, repeat: int) -> float:
    fn()  # warm the caches once
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="winnow-bench-browse-"))
    os.environ["WINNOW_DATA_DIR"] = str(tmp)
    os.environ["WINNOW_MIGRATE_ON_START"] = "false"
    os.environ["WINNOW_AUTH"] = "off"
    pg_db = None
    if args.pg_url:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        pg_db = f"winnow_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{pg_db}"'))
        os.environ["DATABASE_URL"] = make_url(args.pg_url).set(database=pg_db).render_as_string(hide_password=False)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.db'}"

    from sqlalchemy import insert
    from sqlmodel import Session

    from app.db import get_engine
    from app.migrate import upgrade
    from app.models import Dataset, Example, Finding, utcnow
    from app.services import examples as example_service
    from app.services import web_examples
    from app.text import content_hash, input_hash

    upgrade(os.environ["DATABASE_URL"])
    engine = get_engine()
    records = [json.loads(line) for line in gzip.open(DEBIAN, "rt")]
    with Session(engine) as session:
        dataset = Dataset(name="bench", task_type="classification")
        session.add(dataset)
        session.flush()
        dataset_id = dataset.id
        now = utcnow()
        batch = []
        for i in range(args.rows):
            record = records[i % len(records)]
            text_in = f"{record['short']}\n{record.get('long') or ''}"[:800] + (f" #{i}" if i >= len(records) else "")
            batch.append({"dataset_id": dataset_id, "external_id": str(i), "input": text_in, "output": record["section"],
                          "label": record["section"], "status": "pending", "version": 1, "created_at": now,
                          "updated_at": now, "input_hash": input_hash(text_in),
                          "content_hash": content_hash(None, text_in, record["section"])})
            if len(batch) == 5000:
                session.execute(insert(Example), batch)
                batch = []
        if batch:
            session.execute(insert(Example), batch)
        ids = [r[0] for r in session.execute(Example.__table__.select().with_only_columns(Example.id)
                                             .where(Example.dataset_id == dataset_id).order_by(Example.id))]
        session.execute(insert(Finding), [{"dataset_id": dataset_id, "example_id": ids[i], "check": "outlier",
                                           "score": 0.5, "details": {"message": "bench"}, "status": "open",
                                           "example_version": 1, "created_at": now, "updated_at": now}
                                          for i in range(0, len(ids), 20)])
        session.commit()

    last_cursor_id = ids[-51]
    import base64

    cursor = base64.urlsafe_b64encode(json.dumps([last_cursor_id, last_cursor_id]).encode()).decode()
    filters = web_examples.ExampleFilters()

    def service_first():
        with Session(engine) as s:
            page = web_examples.browse_examples(s, dataset_id, filters, limit=50)
            assert len(page.items) == 50

    def service_last():
        with Session(engine) as s:
            page = web_examples.browse_examples(s, dataset_id, filters, after=cursor, limit=50)
            assert len(page.items) == 50

    def offset_last():
        with Session(engine) as s:
            items, _ = example_service.list_examples(s, dataset_id, limit=50, offset=len(ids) - 50)
            assert len(items) == 50

    def newest_first():
        with Session(engine) as s:
            web_examples.browse_examples(s, dataset_id, web_examples.ExampleFilters(sort="newest"), limit=50)

    def updated_first():
        with Session(engine) as s:
            web_examples.browse_examples(s, dataset_id, web_examples.ExampleFilters(sort="updated"), limit=50)

    def label_sorted_deep():
        with Session(engine) as s:
            deep = base64.urlsafe_b64encode(json.dumps(["utils", ids[len(ids) // 2]]).encode()).decode()
            web_examples.browse_examples(s, dataset_id, web_examples.ExampleFilters(sort="label"), after=deep, limit=50)

    def search_first():
        with Session(engine) as s:
            web_examples.browse_examples(s, dataset_id, web_examples.ExampleFilters(q="library"), limit=50)

    def check_filter():
        with Session(engine) as s:
            web_examples.browse_examples(s, dataset_id, web_examples.ExampleFilters(check="outlier"), after=cursor,
                                         limit=50)

    raw = engine.raw_connection()
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"

    def baseline_last():
        cur = raw.cursor()
        cur.execute(f"SELECT * FROM examples WHERE dataset_id = {placeholder} AND id > {placeholder} "
                    f"ORDER BY id LIMIT 51", (dataset_id, last_cursor_id))
        rows = cur.fetchall()
        assert len(rows) == 50
        cur.close()

    def exact_count():
        cur = raw.cursor()
        cur.execute(f"SELECT count(*) FROM examples WHERE dataset_id = {placeholder}", (dataset_id,))
        cur.fetchone()
        cur.close()

    from fastapi.testclient import TestClient

    from app.main import create_app

    client = TestClient(create_app(), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))

    def html_last_page():
        response = client.get(f"/datasets/{dataset_id}/examples", params={"after": cursor})
        assert response.status_code == 200, response.text[:300]

    results = {
        "baseline: bare keyset SELECT of the last page (DB-API)": timed(baseline_last, args.repeat),
        "for scale: exact COUNT(*) of the dataset (DB-API)": timed(exact_count, args.repeat),
        "browse_examples, first page": timed(service_first, args.repeat),
        "browse_examples, last page (keyset)": timed(service_last, args.repeat),
        "list_examples, last page (OFFSET)": timed(offset_last, args.repeat),
        "browse_examples, sort=newest, first page": timed(newest_first, args.repeat),
        "browse_examples, sort=updated, first page": timed(updated_first, args.repeat),
        "browse_examples, sort=label, middle page": timed(label_sorted_deep, args.repeat),
        "browse_examples, check filter, last page": timed(check_filter, args.repeat),
        "browse_examples, q=library (substring search)": timed(search_first, args.repeat),
        "whole HTML page, last page (ASGI)": timed(html_last_page, args.repeat),
    }
    base = results["baseline: bare keyset SELECT of the last page (DB-API)"]
    print(f"{engine.dialect.name}, {args.rows:,} examples, median of {args.repeat}")
    for name, ms in results.items():
        print(f"  {name:50s} {ms:8.1f} ms   x{ms / base:5.1f} of baseline")
    raw.close()
    engine.dispose()
    if pg_db:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
