"""Example-browser paging with 100,000 examples: keyset pages vs OFFSET, against bare sqlite3/DB-API.

    .venv/bin/python benchmarks/bench_browse.py                    # SQLite, 100,000 examples
    .venv/bin/python benchmarks/bench_browse.py --rows 20000 --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_browse.py --part review        # health page with the map + verdict latency

`--part review` measures the review side instead (see `review_benchmarks`).

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
    parser.add_argument("--part", choices=("browse", "review"), default="browse")
    parser.add_argument("--verdicts", type=int, default=30, help="--part review: keyboard verdicts timed in Chromium")
    parser.add_argument("--data-dir", default=None, help="--part review: keep the seeded data here (and reuse it)")
    args = parser.parse_args()
    if args.part == "review":
        review_benchmarks(args)
        return

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


def review_benchmarks(args) -> None:
    """The review side at `--rows` examples (Debian descriptions, labelled by section, 5% with an open finding):

    - the analysis's health hook (`projection.save_health_arrays`: PCA of 384-d vectors + token counts);
    - the health page with the embedding map, server time through the ASGI app (goal < 500 ms at 100k);
    - verdict-to-next-item in Chromium: `a` pressed in the outlier queue until the count drops and the next
      item is current, through a real uvicorn (goal < 100 ms median).
    """
    import socket
    import subprocess
    from types import SimpleNamespace

    import numpy as np

    tmp = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="winnow-bench-review-"))
    tmp.mkdir(parents=True, exist_ok=True)
    seeded = (tmp / "bench.db").exists()
    os.environ.update({"WINNOW_DATA_DIR": str(tmp), "WINNOW_MIGRATE_ON_START": "false", "WINNOW_AUTH": "off",
                       "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"})
    from sqlalchemy import insert
    from sqlmodel import Session

    from app.config import get_settings
    from app.db import get_engine
    from app.embeddings.neighbour_graph import analysis_cache_dir
    from app.migrate import upgrade
    from app.models import Dataset, Example, Finding, utcnow
    from app.services.projection import save_health_arrays
    from app.text import content_hash, input_hash

    upgrade(os.environ["DATABASE_URL"])
    engine = get_engine()
    if seeded:
        return _review_timings(args, engine, tmp)
    # The repository, or a git worktree of it one level deeper, sits next to shared/.
    candidates = [p / "shared" / "data" / DEBIAN.name for p in ROOT.parents]
    debian = next((path for path in candidates if path.exists()), DEBIAN)
    records = [json.loads(line) for line in gzip.open(debian, "rt")]
    texts = []
    with Session(engine) as session:
        dataset = Dataset(name="bench-review", task_type="classification")
        session.add(dataset)
        session.flush()
        dataset_id, now, batch = dataset.id, utcnow(), []
        for i in range(args.rows):
            record = records[i % len(records)]
            text_in = f"{record['short']}\n{record.get('long') or ''}"[:800] + (f" #{i}" if i >= len(records) else "")
            texts.append((text_in, record["section"]))
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
                                           "score": 0.5 + (i % 50) / 100, "details": {"message": "bench"},
                                           "status": "open", "example_version": 1, "created_at": now,
                                           "updated_at": now} for i in range(0, len(ids), 20)])
        session.commit()

    vectors = np.random.default_rng(0).normal(size=(len(ids), 384)).astype(np.float32)
    ctx = SimpleNamespace(cache_dir=analysis_cache_dir(get_settings().data_dir, dataset_id), ids=np.array(ids),
                          examples=[SimpleNamespace(input=t, output=o) for t, o in texts], vectors=vectors)
    start = time.perf_counter()
    save_health_arrays(ctx, get_settings().data_dir)
    hook_cold = time.perf_counter() - start
    start = time.perf_counter()
    save_health_arrays(ctx, get_settings().data_dir)  # token counts cached, as after the format check
    hook_warm = time.perf_counter() - start
    print(f"sqlite, {args.rows:,} examples ({len(ids) // 20:,} open findings), data in {tmp}")
    print(f"  health hook (PCA 384-d -> 2-d + token counts), cold token cache  {hook_cold * 1000:8.0f} ms")
    print(f"  health hook, token counts cached                                 {hook_warm * 1000:8.0f} ms")
    _review_timings(args, engine, tmp)


def _review_timings(args, engine, tmp: Path) -> None:
    import socket
    import subprocess

    dataset_id = 1
    from fastapi.testclient import TestClient

    from app.main import create_app

    client = TestClient(create_app(), base_url="http://127.0.0.1", client=("127.0.0.1", 50000))

    def health_page():
        response = client.get(f"/datasets/{dataset_id}/health")
        assert response.status_code == 200 and "svg class=\"map\"" in response.text, response.text[:300]
        health_page.size = len(response.content)

    health_ms = timed(health_page, args.repeat)
    if not args.verdicts:
        print(f"  health page with the map, ASGI, median of {args.repeat}: {health_ms:.1f} ms")
        return

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
                               "--log-level", "warning"], cwd=ROOT, env=dict(os.environ))
    latencies, settles = [], []
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/static/app.css", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            # bypass_csp: only so that this measurement can run a script in the page; the app's CSP forbids it.
            page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            page.goto(f"http://127.0.0.1:{port}/datasets/{dataset_id}/review/outlier")
            # In the page's own clock: from the key press to the queue fragment swapped in (the next item shown
            # as current), and to htmx's settle (20 ms later by htmx's default settle delay).
            measure = """() => new Promise(resolve => {
                const start = performance.now(); let swapped = null;
                document.addEventListener("htmx:afterSwap", () => { swapped = performance.now() - start; },
                                          {once: true});
                document.addEventListener("htmx:afterSettle", () => resolve([swapped, performance.now() - start]),
                                          {once: true});
                document.body.dispatchEvent(new KeyboardEvent("keydown", {key: "a", bubbles: true}));
            })"""
            for _ in range(args.verdicts + 1):
                expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
                current = page.locator(".queue-item.current").get_attribute("data-finding-id")
                swapped, settled = page.evaluate(measure)
                expect(page.locator(".queue-item.current")).not_to_have_attribute("data-finding-id", current)
                latencies.append(swapped)
                settles.append(settled)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies, settles = latencies[1:], settles[1:]  # the first verdict warms the server's caches
    print(f"  health page with the map, ASGI, median of {args.repeat}                   {health_ms:8.1f} ms"
          f"  ({health_page.size / 1024:.0f} KiB)")
    print(f"  verdict to next item in Chromium, median of {len(latencies)}              "
          f"{statistics.median(latencies):8.1f} ms  (p90 {sorted(latencies)[int(len(latencies) * 0.9)]:.1f} ms; "
          f"settled: median {statistics.median(settles):.1f} ms)")
    engine.dispose()


if __name__ == "__main__":
    main()
