"""Pages at 1,000,000 pairs: the API lists (first page, last page, filtered, substring search), the
findings list, the health page and a review queue, on SQLite and on Postgres.

    .venv/bin/python benchmarks/bench_pages.py --db sqlite --rows 1000000 --keep /tmp/pages-1m
    .venv/bin/python benchmarks/bench_pages.py --db postgres --rows 1000000 --keep winnow_pages_1m
    .venv/bin/python benchmarks/bench_pages.py --db both --rows 20000          # quick look, throw-away DBs

The rows are written with a bare DB-API `executemany` (fast; the import has its own benchmark), and
~5% of them get an open finding of one of three checks (what an analysis leaves), so the findings
list, the health page and the review queue have something to read. Then every request runs
--repeat times in-process through FastAPI's TestClient (the whole stack: routing, auth, the
services, the ORM, JSON/HTML rendering) and the p50/p95 of each is printed.
With --keep the database is kept (a folder for SQLite, a database name for Postgres) and reused by
the next run with the same --keep and --rows, so the build is paid once.
"""

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.common import DEBIAN  # noqa: E402

ADMIN_TOKEN = "bench-pages-token-0123456789"
COLUMNS = ("dataset_id", "external_id", "system", "input", "output", "history", "label", "metadata", "weight",
           "status", "input_hash", "content_hash", "version", "created_at", "updated_at")
FINDING_COLUMNS = ("dataset_id", "example_id", "\"check\"", "score", "details", "status", "job_id", "example_version",
                   "created_at", "updated_at")
CHECKS = ("near_duplicate", "label_issue", "outlier")
DATASET = "pages-bench"


def packages() -> list[dict]:
    with gzip.open(DEBIAN, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def rows_of(count: int, dataset_id: int, now) -> "iter[tuple]":
    """`count` rows cycling the Debian descriptions; a cycle's texts get its number, so few are identical."""
    source = packages()
    for index in range(count):
        cycle, package = divmod(index, len(source))
        package = source[package]
        prompt = "\n\n".join(part for part in (package.get("short"), package.get("long")) if part)
        if cycle:
            prompt = f"{prompt}\n(variant {cycle})"
        section = package.get("section") or "misc"
        status = "accepted" if index % 10 == 0 else "pending"
        digest = hashlib.sha256(prompt.encode()).hexdigest()
        yield (dataset_id, f"{package['package']}~{cycle}", None, prompt, section, None, section, None, None,
               status, digest, hashlib.sha256((prompt + section).encode()).hexdigest(), 1, now, now)


def build(url: str, count: int) -> None:
    """Migrate, then write the dataset, its rows and its findings with bare executemany."""
    from app.migrate import upgrade

    upgrade(url)
    sqlite = url.startswith("sqlite")
    now = datetime.now(UTC)
    if sqlite:
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN")
        mark, stamp = "?", now.isoformat(" ")
    else:
        import psycopg

        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        mark, stamp = "%s", now
    cursor = connection.cursor()
    cursor.execute(f"INSERT INTO datasets (name, description, task_type, settings, created_at, updated_at) "
                   f"VALUES ({mark}, '', 'classification', '{{}}', {mark}, {mark})", (DATASET, stamp, stamp))
    cursor.execute(f"SELECT id FROM datasets WHERE name = {mark}", (DATASET,))
    dataset_id = cursor.fetchone()[0]
    insert = f"INSERT INTO examples ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    started = time.perf_counter()
    batch: list[tuple] = []
    for row in rows_of(count, dataset_id, stamp):
        batch.append(row)
        if len(batch) == 50_000:
            cursor.executemany(insert, batch)
            batch = []
            print(".", end="", flush=True)
    if batch:
        cursor.executemany(insert, batch)
    print(f"\n  {count:,} examples in {time.perf_counter() - started:.0f} s")
    cursor.execute(f"SELECT min(id), max(id) FROM examples WHERE dataset_id = {mark}", (dataset_id,))
    first, last = cursor.fetchone()
    rng = random.Random(17)
    findings = []
    for example_id in rng.sample(range(first, last + 1), k=max(1, (last - first + 1) // 20)):
        check = rng.choice(CHECKS)
        details = {"duplicate_of": example_id - 1} if check == "near_duplicate" else \
            {"suggested_label": "utils"} if check == "label_issue" else {}
        findings.append((dataset_id, example_id, check, round(rng.random(), 3), json.dumps(details), "open", None, 1,
                         stamp, stamp))
    cursor.executemany(f"INSERT INTO findings ({', '.join(FINDING_COLUMNS)}) "
                       f"VALUES ({', '.join([mark] * len(FINDING_COLUMNS))})", findings)
    connection.execute("COMMIT") if sqlite else connection.commit()
    if not sqlite:  # what autovacuum does after a large import; SQLite gathers no statistics by itself
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    connection.close()
    print(f"  {len(findings):,} findings; built in {time.perf_counter() - started:.0f} s")


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measure(url: str, repeat: int) -> list[tuple[str, float, float, str]]:
    """(name, p50 ms, p95 ms, note) of each request, through the TestClient."""
    os.environ.update({"DATABASE_URL": url, "WINNOW_ADMIN_TOKEN": ADMIN_TOKEN, "WINNOW_MIGRATE_ON_START": "false",
                       "WINNOW_EMBEDDING_MODEL": "hashing", "WINNOW_IMPORT_WORKERS": "1"})
    from fastapi.testclient import TestClient

    from app.main import app

    results = []
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        datasets = client.get("/api/v1/datasets").json()
        dataset = next(d for d in (datasets["items"] if isinstance(datasets, dict) else datasets)
                       if d["name"] == DATASET)
        base = f"/api/v1/datasets/{dataset['id']}"
        first = client.get(f"{base}/examples", params={"limit": 50}).json()
        last_page = client.get(f"{base}/examples", params={"limit": 50, "order": "desc"}).json()
        # The longest word of one description: in its 1 in 52,000 texts (and their cycled copies).
        rare = max(re.findall(r"[A-Za-z]{6,}", first["items"][7]["input"]), key=len)

        def deep_cursor() -> str:
            # A cursor in the middle of the dataset: walk 5 pages from the first, then jump by re-using one.
            answer = first
            for _ in range(5):
                answer = client.get(f"{base}/examples", params={"limit": 50, "cursor": answer["next_cursor"]}).json()
            return answer["next_cursor"]

        cursor = deep_cursor()
        finding_page = client.get(f"{base}/findings", params={"limit": 50}).json()
        rare_next = client.get(f"{base}/examples", params={"limit": 50, "q": rare}).json()["next_cursor"]
        requests = [
            ("examples, first page", f"{base}/examples", {"limit": 50}),
            ("examples, next page by cursor", f"{base}/examples", {"limit": 50, "cursor": cursor}),
            ("examples, last page (order=desc)", f"{base}/examples", {"limit": 50, "order": "desc"}),
            ("examples, last page (desc, next cursor)", f"{base}/examples",
             {"limit": 50, "order": "desc", "cursor": last_page["next_cursor"]}),
            ("examples, status=accepted", f"{base}/examples", {"limit": 50, "status": "accepted"}),
            ("examples, label=utils", f"{base}/examples", {"limit": 50, "label": "utils"}),
            ("examples, check=outlier", f"{base}/examples", {"limit": 50, "check": "outlier"}),
            ("examples, search common word", f"{base}/examples", {"limit": 50, "q": "library"}),
            (f"examples, search rare word ({rare})", f"{base}/examples", {"limit": 50, "q": rare}),
            ("examples, search absent word", f"{base}/examples", {"limit": 50, "q": "qzxwvjk"}),
            ("examples, search a word in 2% (python)", f"{base}/examples", {"limit": 50, "q": "python"}),
            ("examples, search a phrase (command-line tool)", f"{base}/examples",
             {"limit": 50, "q": "command-line tool"}),
            ("examples, search rare word, next page", f"{base}/examples", {"limit": 50, "q": rare, "cursor": rare_next}),
            # count=none: the page alone (what the web browser shows first, fetching the count after).
            ("examples, search rare word, count=none", f"{base}/examples", {"limit": 50, "q": rare, "count": "none"}),
            ("examples, search python, count=none", f"{base}/examples", {"limit": 50, "q": "python", "count": "none"}),
            ("examples, search a phrase, count=none", f"{base}/examples",
             {"limit": 50, "q": "command-line tool", "count": "none"}),
            # In 14 of the first 2,000 rows (the Debian list is alphabetical) but 15 of each 51,666: the
            # probe overrates it, and the walk's window hands it to the index.
            ("examples, search a text common in the first rows only, count=none", f"{base}/examples",
             {"limit": 50, "q": "bacula", "count": "none"}),
            ("examples, count=exact", f"{base}/examples", {"limit": 50, "count": "exact"}),
            ("examples, offset 500,000 (compat)", f"{base}/examples", {"limit": 50, "offset": 500_000}),
            ("findings, first page", f"{base}/findings", {"limit": 50}),
            ("findings, next page by cursor", f"{base}/findings",
             {"limit": 50, "cursor": finding_page["next_cursor"]}),
            ("findings, check=label_issue", f"{base}/findings", {"limit": 50, "check": "label_issue"}),
            ("health page", f"/datasets/{dataset['id']}/health", {}),
            ("review queue (outlier)", f"/datasets/{dataset['id']}/review/outlier", {}),
            ("web example list", f"/datasets/{dataset['id']}/examples", {}),
            ("web example list, search", f"/datasets/{dataset['id']}/examples", {"q": "library"}),
            ("web example list, search rare word", f"/datasets/{dataset['id']}/examples", {"q": rare}),
            ("web example list, search a phrase", f"/datasets/{dataset['id']}/examples", {"q": "command-line tool"}),
            ("web search's count (its second request), rare word", f"/datasets/{dataset['id']}/examples/count",
             {"q": rare}),
            ("web search's count, phrase", f"/datasets/{dataset['id']}/examples/count", {"q": "command-line tool"}),
        ]
        for name, path, params in requests:
            times = []
            note = ""
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path, params=params)
                times.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
            if path.endswith(("examples", "findings")) and path.startswith("/api"):
                body = response.json()
                note = f"{len(body['items'])} items, total {body['total']}{'+' if body.get('total_capped') else ''}"
            results.append((name, statistics.median(times), p(times, 0.95), note))
            print(f"  {name:44} p50 {results[-1][1]:8.1f} ms  p95 {results[-1][2]:8.1f} ms  {note}", flush=True)
        # The first health page after a change counts the dataset again (then it is cached): an edit,
        # then the page, a few times (the edit is undone by the next round's).
        example = first["items"][3]
        times = []
        for round in range(3):
            current = client.get(f"/api/v1/examples/{example['id']}").json()
            client.patch(f"/api/v1/examples/{example['id']}", json={
                "version": current["version"], "status": "accepted" if round % 2 == 0 else "pending"}).raise_for_status()
            started = time.perf_counter()
            client.get(f"/datasets/{dataset['id']}/health").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
        results.append(("health page, first after an edit", statistics.median(times), max(times), ""))
        print(f"  {results[-1][0]:44} p50 {results[-1][1]:8.1f} ms  max {results[-1][2]:8.1f} ms", flush=True)
    return results


def fill_search_index(url: str) -> None:
    """What a running server does in the background after an import (app/services/search_index.py),
    done here before measuring so that the requests are timed against the filled index."""
    from app.db import build_engine
    from app.services import search_index

    started = time.perf_counter()
    added = search_index.fill(build_engine(url))
    print(f"sqlite: search index: {added:,} rows indexed in {time.perf_counter() - started:.1f} s")


def database_url(db: str, keep: str | None, pg_url: str, tmp: str) -> tuple[str, bool]:
    """(URL, whether it must be built)."""
    if db == "sqlite":
        folder = Path(keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "pages.db"
        return f"sqlite:///{path}", not path.exists()
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(pg_url)
    name = keep or f"winnow_pages_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), not exists


def drop_postgres(pg_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", help="SQLite: a folder; Postgres: a database name. Built once, then reused.")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="winnow-pages-") as tmp:
        os.environ["WINNOW_DATA_DIR"] = str(Path(args.keep if args.keep and args.db == "sqlite" else tmp) / "data")
        url, fresh = database_url(args.db, args.keep, args.pg_url, tmp)
        try:
            if fresh:
                print(f"{args.db}: building {args.rows:,} rows")
                build(url, args.rows)
            else:
                from app.migrate import upgrade

                started = time.perf_counter()
                upgrade(url)  # a kept database gets the migrations added since it was built
                print(f"{args.db}: migrated in {time.perf_counter() - started:.1f} s")
            if args.db == "sqlite":
                fill_search_index(url)
            if not args.build_only:
                print(f"{args.db}: {args.rows:,} rows, {args.repeat} calls each")
                measure(url, args.repeat)
        finally:
            if args.db == "postgres" and not args.keep:
                drop_postgres(args.pg_url, url)


if __name__ == "__main__":
    main()
