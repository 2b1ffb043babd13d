"""Many clients at once against a real server (2 uvicorn worker processes) on SQLite or Postgres.

In parallel: imports (one of them with a bad last line), edits of the same examples from several
clients, an analysis and an export. What must hold:
- no answer is a 5xx, and none says "database is locked";
- an edit of a stale version answers 409, and no accepted edit is lost: each example's version
  and revision count equal 1 + the number of accepted edits, and its text is the last accepted one;
- an import lands whole (the aborted one not at all).
"""

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx

EDITORS = 4
EDITS_PER_EDITOR = 8
IMPORTERS = 3
LINES_PER_IMPORT = 400
# Two processes, as a deployment would run: SQLite locking across processes, runners racing for jobs.
WORKERS = 2


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bad: list[str] = []
        self.statuses: dict[int, int] = defaultdict(int)

    def check(self, response: httpx.Response, what: str) -> httpx.Response:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500 or "database is locked" in response.text:
                self.bad.append(f"{what}: {response.status_code} {response.text[:300]}")
        return response


def jsonl(prefix: str, n: int, bad_last: bool = False) -> bytes:
    lines = [json.dumps({"id": f"{prefix}-{i}", "prompt": f"{prefix} question {i} about topic {i % 13}",
                         "completion": "ab"[i % 2]}) for i in range(n)]
    if bad_last:
        lines.append('{"id": "broken", "prompt": ')
    return "\n".join(lines).encode()


def test_parallel_imports_edits_analysis_and_export(live_server_factory):
    # Imports of any size go through the import workers, in pieces, as large ones do.
    server = live_server_factory(workers=WORKERS, WINNOW_IMPORT_WORKERS="2", WINNOW_IMPORT_PARALLEL_MIN_BYTES="0")
    record = Recorder()
    with server.client() as c:
        ds = record.check(c.post("/api/v1/datasets", json={"name": "busy", "task_type": "classification"}), "create")
        dataset_id = ds.json()["id"]
        seed = record.check(c.post(f"/api/v1/datasets/{dataset_id}/import", content=jsonl("seed", 60),
                                   headers={"content-type": "application/x-ndjson"}), "seed")
        assert seed.status_code == 200, seed.text
        page = c.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 3}).json()
        targets = [e["id"] for e in page["items"]]

    accepted: dict[int, list[tuple[int, str]]] = defaultdict(list)  # example id -> [(new version, text)]
    conflicts = 0
    lock = threading.Lock()

    def edit(editor: int) -> None:
        nonlocal conflicts
        with server.client() as c:
            for n in range(EDITS_PER_EDITOR):
                example_id = targets[(editor + n) % len(targets)]
                current = record.check(c.get(f"/api/v1/examples/{example_id}"), "read").json()
                text = f"edited by {editor} #{n}"
                time.sleep(0.01 * (editor % 2))  # widen the read-modify-write window
                response = record.check(c.patch(f"/api/v1/examples/{example_id}",
                                                json={"version": current["version"], "input": text}), "edit")
                with lock:
                    if response.status_code == 200:
                        accepted[example_id].append((response.json()["version"], text))
                    elif response.status_code == 409:
                        conflicts += 1
                    else:
                        record.bad.append(f"edit answered {response.status_code}: {response.text[:200]}")

    def import_batch(n: int) -> httpx.Response:
        with server.client() as c:
            return record.check(c.post(f"/api/v1/datasets/{dataset_id}/import",
                                       content=jsonl(f"batch{n}", LINES_PER_IMPORT, bad_last=(n == 0)),
                                       headers={"content-type": "application/x-ndjson"}), f"import {n}")

    def analyse() -> dict:
        with server.client() as c:
            started = record.check(c.post(f"/api/v1/datasets/{dataset_id}/analyze"), "analyze")
            assert started.status_code == 202, started.text
            job_id = started.json()["id"]
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                job = record.check(c.get(f"/api/v1/jobs/{job_id}"), "job").json()
                if job["status"] not in ("queued", "running"):
                    return job
                time.sleep(0.3)
            raise AssertionError(f"analysis still {job['status']} after 240 s")

    def export() -> httpx.Response:
        with server.client() as c:
            created = record.check(c.post(f"/api/v1/datasets/{dataset_id}/exports", json={}), "export")
            if created.status_code == 201:
                record.check(c.get(f"/api/v1/exports/{created.json()['id']}/files/train.jsonl"), "download")
            return created

    with ThreadPoolExecutor(max_workers=EDITORS + IMPORTERS + 2) as pool:
        edits = [pool.submit(edit, e) for e in range(EDITORS)]
        imports = [pool.submit(import_batch, n) for n in range(IMPORTERS)]
        analysis = pool.submit(analyse)
        exported = pool.submit(export)
        for future in edits:
            future.result()
        import_results = [f.result() for f in imports]
        job = analysis.result()
        export_response = exported.result()

    assert not record.bad, "\n".join(record.bad)
    assert import_results[0].status_code == 422 and all(r.status_code == 200 for r in import_results[1:])
    assert all(r.json()["imported"] == LINES_PER_IMPORT for r in import_results[1:])
    assert job["status"] == "succeeded", {k: job.get(k) for k in ("status", "message", "error")}
    assert export_response.status_code == 201, export_response.text

    with server.client() as c:
        total = c.get(f"/api/v1/datasets/{dataset_id}/examples", params={"limit": 1}).json()["total"]
        assert total == 60 + (IMPORTERS - 1) * LINES_PER_IMPORT  # the aborted import left nothing
        assert c.get(f"/api/v1/datasets/{dataset_id}/examples", params={"q": "batch0"}).json()["total"] == 0
        for example_id in targets:
            wins = sorted(accepted[example_id])
            example = c.get(f"/api/v1/examples/{example_id}").json()
            revisions = c.get(f"/api/v1/examples/{example_id}/revisions").json()
            assert [v for v, _ in wins] == list(range(2, 2 + len(wins))), f"versions granted twice: {wins}"
            assert example["version"] == 1 + len(wins)
            assert len([r for r in revisions if r["field"] == "input"]) == len(wins)
            if wins:
                assert example["input"] == wins[-1][1]
    assert sum(len(w) for w in accepted.values()) + conflicts == EDITORS * EDITS_PER_EDITOR
    print(f"edits accepted {sum(len(w) for w in accepted.values())}, conflicts {conflicts}, statuses "
          f"{dict(record.statuses)}")
