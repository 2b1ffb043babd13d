"""Issue #13.1: a slow read never holds SQLite's write lock.

The slow read is artificial but real: a GET route on the real app, with the request's own database
session, reads and then keeps its transaction open until the test lets it go (up to 30 s). Meanwhile
an authenticated write through the API must finish well within a second.
"""

import threading
import time

from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.deps import SessionDep
from app.schemas.dataset import MAX_LABELS
from app.web.review_queue import MAX_LABEL_KEYS, label_options
from app.models import Dataset, Finding

HELD_SECONDS = 30


def test_a_read_held_open_does_not_block_writes(app, make_user):
    reading, release = threading.Event(), threading.Event()

    @app.get("/test-only/slow-read")
    def slow_read(request: Request, session: SessionDep) -> dict:
        count = session.execute(text("SELECT count(*) FROM datasets")).scalar()
        reading.set()
        release.wait(HELD_SECONDS)  # the transaction stays open all this time
        return {"count": count}

    admin = make_user("admin", "admin")
    with TestClient(app, headers={"Authorization": f"Bearer {admin['token']}"}) as client:
        reader = threading.Thread(target=lambda: client.get("/test-only/slow-read"))
        reader.start()
        try:
            assert reading.wait(10)
            for name in ("one", "two"):
                started = time.monotonic()
                created = client.post("/api/v1/datasets", json={"name": name})
                elapsed = time.monotonic() - started
                assert created.status_code == 201, created.text
                assert elapsed < 1.0, f"a write waited {elapsed:.1f} s behind a read"
            started = time.monotonic()
            assert client.get("/api/v1/me").status_code == 200
            assert time.monotonic() - started < 1.0
        finally:
            release.set()
            reader.join()


def test_patch_caps_the_label_set_as_create_does(client, make_dataset):
    dataset = make_dataset("labels", task_type="classification", label_set=["a"])
    too_many = [f"l{i}" for i in range(MAX_LABELS + 1)]
    response = client.patch(f"/api/v1/datasets/{dataset['id']}", json={"label_set": too_many})
    assert response.status_code == 422
    assert "label_set" in response.text
    assert client.post("/api/v1/datasets", json={"name": "x", "label_set": too_many}).status_code == 422


def test_label_options_reach_every_label_once_in_linear_time():
    labels = [f"l{i}" for i in range(MAX_LABELS)]
    dataset = Dataset(id=1, name="d", label_set=labels)
    finding = Finding(id=1, dataset_id=1, example_id=1, check="class_imbalance", score=1.0,
                      details={"suggested_label": "l5"})
    options = label_options(dataset, finding, labels)  # the known labels repeat the whole set
    assert options[0] == "l5" and len(options) == MAX_LABELS == len(set(options))
    assert options[1:MAX_LABEL_KEYS] == ["l0", "l1", "l2", "l3", "l4", "l6", "l7", "l8"]  # what digits 1-9 reach
