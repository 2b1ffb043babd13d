"""How long other requests wait while an analysis runs in the same server (issue #13 point 2).

Starts a real uvicorn on a throw-away SQLite database, imports N Debian descriptions (input: the
short description, output: the section), sets an output schema with a pattern that backtracks
exponentially in Python's `re` (`^(a+)+$`, which the analysis now runs on RE2), then starts an
analysis and asks `GET /login` every 50 ms until it has finished. Prints the latency percentiles
with and without the analysis running.

    .venv/bin/python benchmarks/bench_latency_during_analysis.py --pairs 5000 [--model hashing]
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import DEBIAN, ROOT  # noqa: E402
from tests.robustness.live_server import free_port  # noqa: E402

TOKEN = "bench-latency-admin-token-0123456789"


def pairs(n: int) -> bytes:
    lines = []
    with gzip.open(DEBIAN, "rt") as source:
        for raw in source:
            record = json.loads(raw)
            lines.append(json.dumps({"prompt": record["short"], "completion": record["section"]}))
            if len(lines) == n:
                break
    lines.append(json.dumps({"prompt": "the evil one", "completion": "a" * 40 + "!"}))
    return "\n".join(lines).encode()


def latencies(client: httpx.Client, until) -> list[float]:
    found = []
    while not until():
        started = time.perf_counter()
        client.get("/login")
        found.append(time.perf_counter() - started)
        time.sleep(0.05)
    return found


def summary(values: list[float]) -> str:
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000  # noqa: E731
    return f"n={len(values)} p50={pick(0.5):.1f} ms p95={pick(0.95):.1f} ms p99={pick(0.99):.1f} ms max={values[-1] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--model", default="hashing")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="winnow-bench-latency-"))
    port = free_port()
    env = {**os.environ, "WINNOW_DATA_DIR": str(folder), "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite'}",
           "WINNOW_ADMIN_TOKEN": TOKEN, "WINNOW_EMBEDDING_MODEL": args.model, "WINNOW_IMPORT_WORKERS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
                               "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=600)
        for _ in range(600):
            try:
                if client.get("/api/v1/me").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        dataset = client.post("/api/v1/datasets", json={"name": "latency", "output_schema": {
            "type": "string", "pattern": "^(a+)+$"}}).json()
        imported = client.post(f"/api/v1/datasets/{dataset['id']}/import", content=pairs(args.pairs),
                               headers={"content-type": "application/x-ndjson"}).json()
        print(f"imported {imported['imported']} pairs; model {args.model}")
        idle_until = time.monotonic() + 5
        print("idle:            ", summary(latencies(client, lambda: time.monotonic() > idle_until)))
        job = client.post(f"/api/v1/datasets/{dataset['id']}/analyze").json()
        started = time.monotonic()
        status = {"value": "queued"}

        def finished() -> bool:
            status["value"] = client.get(f"/api/v1/jobs/{job['id']}").json()["status"]
            return status["value"] not in ("queued", "running")

        during = latencies(client, finished)
        print(f"during analysis ({time.monotonic() - started:.1f} s, {status['value']}):", summary(during))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
