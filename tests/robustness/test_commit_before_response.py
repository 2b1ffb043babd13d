"""A write is committed before its answer leaves the server (read-your-writes, no silent loss).

A real uvicorn (in a thread of this process, so that the commit can be slowed down) serves a
PATCH whose commit takes 0.5 s longer: the answer must not arrive before the commit, and a read
on another connection right after the answer must see the edit.
"""

import threading
import time

import httpx
import uvicorn
from sqlalchemy import event
from sqlmodel import Session

from tests.robustness.live_server import free_port

SLOW_COMMIT_SECONDS = 0.5


def test_the_answer_comes_after_the_commit(app, client, make_dataset, monkeypatch):
    ds = make_dataset()
    example = client.post(f"/api/v1/datasets/{ds['id']}/examples", json={"input": "q", "output": "a"}).json()
    token = client.headers["authorization"]

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        original_commit = Session.commit
        mark_writer = None

        def slow_commit(self):
            if self.info.pop("wrote", False):  # only the transaction that wrote (not the auth lookup)
                time.sleep(SLOW_COMMIT_SECONDS)
            return original_commit(self)

        def mark_writer(session, _flush_context):
            session.info["wrote"] = True

        monkeypatch.setattr(Session, "commit", slow_commit)
        event.listen(Session, "after_flush", mark_writer)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": token}) as live:
            started = time.monotonic()
            patched = live.patch(f"/api/v1/examples/{example['id']}", json={"version": 1, "output": "b"})
            elapsed = time.monotonic() - started
            assert patched.status_code == 200, patched.text
            seen = client.get(f"/api/v1/examples/{example['id']}").json()
        assert seen["output"] == "b" and seen["version"] == 2, "the answer came before the commit"
        assert elapsed >= SLOW_COMMIT_SECONDS * 0.9
    finally:
        if mark_writer and event.contains(Session, "after_flush", mark_writer):
            event.remove(Session, "after_flush", mark_writer)
        server.should_exit = True
        thread.join(timeout=10)
