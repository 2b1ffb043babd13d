"""SIGKILL the server in the middle of a big import and of an analysis, then start it again.

After the restart: the import happened whole or not at all (it is one transaction), the database
is consistent, and the analysis job shows as failed (the job runner's start-up recovery), never
as running forever; a new analysis can start and succeed.
"""

import json
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select, text

from app.db import get_engine, session_scope
from app.models import Example
from tests.conftest import IS_POSTGRES

BIG_IMPORT_LINES = 100_000


def big_jsonl(n: int) -> bytes:
    return "\n".join(json.dumps({"id": f"r{i}", "prompt": f"row {i}: what is {i} squared?",
                                 "completion": str(i * i)}) for i in range(n)).encode()


def example_count(dataset_id: int) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Example).where(Example.dataset_id == dataset_id))


def writes_in_progress() -> bool:
    """The server is writing the import's rows (not merely reading the upload or validating it)."""
    engine = get_engine()
    if IS_POSTGRES:
        with engine.connect() as connection:
            return bool(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND query ILIKE '%examples%'")).scalar())
    # SQLite: someone holds the write lock. Requests take it only when they write (authentication
    # reads in a short transaction of its own), so during the import that is its write phase.
    import sqlite3

    probe = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:  # database is locked
        return True
    finally:
        probe.close()


def database_is_consistent() -> None:
    with get_engine().connect() as connection:
        if IS_POSTGRES:
            return
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert connection.execute(text("PRAGMA foreign_key_check")).first() is None


# One pass: validated whole, then written; pieces: validated by import workers, each piece written when valid.
@pytest.mark.parametrize("workers", ["1", "2"], ids=["one-pass", "pieces"])
def test_sigkill_during_a_big_import_leaves_all_or_nothing(live_server_factory, workers):
    server = live_server_factory(WINNOW_IMPORT_WORKERS=workers, WINNOW_IMPORT_PARALLEL_MIN_BYTES="0")
    with server.client() as c:
        dataset_id = c.post("/api/v1/datasets", json={"name": "crash-import"}).json()["id"]
    body = big_jsonl(BIG_IMPORT_LINES)
    outcome: dict = {}

    def upload() -> None:
        try:
            with server.client(timeout=300) as c:
                outcome["response"] = c.post(f"/api/v1/datasets/{dataset_id}/import", content=body,
                                             headers={"content-type": "application/x-ndjson"})
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + 120
    held = 0  # consecutive probes that saw writing: the job runner's polls hold the lock for milliseconds only
    while held < 6 and thread.is_alive() and time.monotonic() < deadline:
        held = held + 1 if writes_in_progress() else 0
        time.sleep(0.03)
    if "response" in outcome or not thread.is_alive():
        pytest.fail(f"the import finished before the kill; make BIG_IMPORT_LINES larger ({outcome})")
    server.kill()
    thread.join(timeout=30)
    assert "error" in outcome, "the client got an answer from a killed server?"

    restarted = live_server_factory()
    database_is_consistent()
    count = example_count(dataset_id)
    assert count in (0, BIG_IMPORT_LINES), f"half an import survived the crash: {count} rows"
    with restarted.client(timeout=300) as c:  # the restarted server takes imports again
        again = c.post(f"/api/v1/datasets/{dataset_id}/import", content=big_jsonl(50),
                       headers={"content-type": "application/x-ndjson"})
        assert again.status_code == 200, again.text
        print(f"re-import after restart: {again.json()}")
    assert example_count(dataset_id) in (50, BIG_IMPORT_LINES)  # ids r0..r49 update rather than duplicate
    print(f"rows after the crash: {count}")


def test_sigkill_during_an_analysis_marks_the_job_failed_after_restart(live_server_factory):
    server = live_server_factory()
    with server.client(timeout=300) as c:
        created = c.post("/api/v1/datasets", json={"name": "crash-analysis", "task_type": "classification"})
        dataset_id = created.json()["id"]
        lines = "\n".join(json.dumps({"prompt": f"text number {i} on subject {i % 37} with words {i * 7}",
                                      "completion": "abc"[i % 3]}) for i in range(3000))
        assert c.post(f"/api/v1/datasets/{dataset_id}/import", content=lines.encode(),
                      headers={"content-type": "application/x-ndjson"}).status_code == 200
        job_id = c.post(f"/api/v1/datasets/{dataset_id}/analyze").json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            if job["status"] == "running" and job["done"] > 0 or job["status"] not in ("queued", "running"):
                break
            time.sleep(0.05)
    assert job["status"] == "running", f"the analysis was not caught running: {job}"
    server.kill()

    restarted = live_server_factory()
    database_is_consistent()
    with restarted.client() as c:
        deadline = time.monotonic() + 30
        while (job := c.get(f"/api/v1/jobs/{job_id}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"job still {job['status']} 30 s after the restart"
            time.sleep(0.2)
        assert job["status"] == "failed" or job["status"] == "succeeded", job  # failed, or resumed to the end
        again = c.post(f"/api/v1/datasets/{dataset_id}/analyze")
        assert again.status_code == 202, again.text
    print(f"job after the crash: {job['status']}: {job['message']}")
