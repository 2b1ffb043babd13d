"""Import throughput through the HTTP API against a bare DB-API baseline, in the same run.

    .venv/bin/python benchmarks/bench_import.py                 # 50,000 pairs, SQLite and Postgres, 5 rounds
    .venv/bin/python benchmarks/bench_import.py --db sqlite --rows 10000
    .venv/bin/python benchmarks/bench_import.py --big-mb 100    # the streaming check: peak RSS, write-lock time

The API side is a real `uvicorn` server in a subprocess, fed by httpx with the JSONL body
(`application/x-ndjson`). The baseline writes the same rows (hashes computed before the clock
starts) with plain DB-API `executemany` in one transaction into the same `examples` table.
Postgres needs a server at --pg-url (a throw-away database is created next to it and dropped).
"""

import argparse
import gzip
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.text import content_hash, input_hash  # noqa: E402
from benchmarks.common import DEBIAN, throwaway_postgres_database  # noqa: E402

ADMIN_TOKEN = "bench-" + uuid.uuid4().hex
COLUMNS = ("dataset_id", "external_id", "system", "input", "output", "history", "label", "metadata", "weight",
           "status", "input_hash", "content_hash", "version", "created_at", "updated_at")


def debian_pairs(rows: int) -> list[dict]:
    """`rows` pairs: prompt = short + long description, completion = section, id = package (+ a suffix
    when the file has to be cycled to reach `rows`)."""
    with gzip.open(DEBIAN, "rt", encoding="utf-8") as handle:
        packages = [json.loads(line) for line in handle]
    pairs = []
    while len(pairs) < rows:
        cycle = len(pairs) // len(packages)
        for package in packages[: rows - len(pairs)]:
            prompt = "\n\n".join(part for part in (package.get("short"), package.get("long")) if part)
            pairs.append({"id": package["package"] + (f"~{cycle}" if cycle else ""), "prompt": prompt,
                          "completion": package.get("section") or ""})
    return pairs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn app.main:app in a subprocess, on its own database."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "WINNOW_DATA_DIR": str(data_dir),
               "WINNOW_EMBEDDING_MODEL": "hashing", "WINNOW_MAX_BODY_BYTES": str(4 << 30),
               "WINNOW_ADMIN_TOKEN": ADMIN_TOKEN}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=ROOT, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def api_import(server: Server, name: str, body) -> tuple[float, dict]:
    with httpx.Client(base_url=server.url, timeout=3600, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        dataset = client.post("/api/v1/datasets", json={"name": name, "task_type": "classification"}).json()
        started = time.perf_counter()
        response = client.post(f"/api/v1/datasets/{dataset['id']}/import", content=body,
                               headers={"content-type": "application/x-ndjson"})
        elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


def baseline_rows(pairs: list[dict], dataset_id: int) -> list[tuple]:
    now = datetime.now(UTC)
    return [(dataset_id, p["id"], None, p["prompt"], p["completion"], None, p["completion"].strip() or None, None,
             None, "pending", input_hash(p["prompt"]), content_hash(None, p["prompt"], p["completion"]), 1, now, now)
            for p in pairs]


def baseline_sqlite(path: str, pairs: list[dict], name: str) -> float:
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("INSERT INTO datasets (name, description, task_type, settings, created_at, updated_at) "
                       "VALUES (?, '', 'classification', '{}', '2026-01-01', '2026-01-01')", (name,))
    dataset_id = connection.execute("SELECT id FROM datasets WHERE name = ?", (name,)).fetchone()[0]
    rows = [tuple(v.isoformat(" ") if isinstance(v, datetime) else v for v in row)
            for row in baseline_rows(pairs, dataset_id)]
    sql = f"INSERT INTO examples ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany(sql, rows)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def baseline_postgres(url: str, pairs: list[dict], name: str) -> float:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        dataset_id = connection.execute(
            "INSERT INTO datasets (name, description, task_type, settings, created_at, updated_at) "
            "VALUES (%s, '', 'classification', '{}', now(), now()) RETURNING id", (name,)).fetchone()[0]
        connection.commit()
        rows = baseline_rows(pairs, dataset_id)
        sql = f"INSERT INTO examples ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        connection.commit()
        return time.perf_counter() - started


def migrate(url: str) -> None:
    subprocess.run([sys.executable, "-c", f"from app.migrate import upgrade; upgrade({url!r})"], cwd=ROOT, check=True)


def bench(db: str, pairs: list[dict], body: bytes, pg_url: str, repeat: int) -> list[dict]:
    """`repeat` rounds of (API import, baseline) into new datasets of one database, alternating, so
    that both sides see the same table size and the same background load."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="winnow-bench-") as tmp:
        if db == "sqlite":
            url, drop = f"sqlite:///{tmp}/bench.db", lambda: None
        else:
            url, drop = throwaway_postgres_database(pg_url)
        try:
            migrate(url)
            server = Server(url, Path(tmp))
            try:
                for round in range(repeat):
                    api_seconds, answer = api_import(server, f"api-{round}", body)
                    assert answer["imported"] == len(pairs), answer
                    base_seconds = baseline_sqlite(url.removeprefix("sqlite:///"), pairs, f"baseline-{round}") \
                        if db == "sqlite" else baseline_postgres(url, pairs, f"baseline-{round}")
                    runs.append({"api_s": api_seconds, "baseline_s": base_seconds, "ratio": base_seconds / api_seconds})
            finally:
                server.stop()
        finally:
            drop()
    return runs


def big_file(path: Path, megabytes: int) -> int:
    """A JSONL file of about `megabytes` MB from the Debian descriptions, cycled with unique ids."""
    pairs = debian_pairs(52_000)
    target, written, rows = megabytes * 1_000_000, 0, 0
    with path.open("wb") as handle:
        while written < target:
            pair = pairs[rows % len(pairs)]
            line = json.dumps({**pair, "id": f"{pair['id']}#{rows}"}).encode() + b"\n"
            handle.write(line)
            written += len(line)
            rows += 1
    return rows


def stream_check(megabytes: int) -> None:
    """Peak server RSS during a big import, and how long a concurrent writer waits for the SQLite lock."""
    with tempfile.TemporaryDirectory(prefix="winnow-stream-") as tmp:
        path = Path(tmp) / "big.jsonl"
        rows = big_file(path, megabytes)
        url = f"sqlite:///{tmp}/big.db"
        migrate(url)
        server = Server(url, Path(tmp))
        idle_rss = server.rss_mb()
        waits: list[tuple[float, float]] = []  # (time since start, seconds the probe waited for the lock)
        stop = threading.Event()
        started = time.perf_counter()

        def probe() -> None:
            import sqlite3

            connection = sqlite3.connect(f"{tmp}/big.db", timeout=600, isolation_level=None)
            while not stop.is_set():
                before = time.perf_counter()
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("UPDATE datasets SET description = description WHERE id = -1")
                connection.execute("COMMIT")
                waits.append((before - started, time.perf_counter() - before))
                time.sleep(0.05)
            connection.close()

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        try:
            with path.open("rb") as handle:
                seconds, answer = api_import(server, "big", handle)
            peak = server.peak_rss_mb()
        finally:
            stop.set()
            prober.join()
            server.stop()
    size_mb = path_size_mb = megabytes
    longest = max(waits, key=lambda w: w[1]) if waits else (0, 0)
    print(f"file: ~{size_mb} MB, {rows} rows; imported {answer['imported']} in {seconds:.1f} s "
          f"({rows / seconds:,.0f} rows/s)")
    print(f"server RSS: {idle_rss:.0f} MB idle, peak {peak:.0f} MB (body ~{path_size_mb} MB)")
    print(f"concurrent writer: longest wait for the write lock {longest[1]:.1f} s "
          f"(at t={longest[0]:.1f} s of {seconds:.1f} s); {len(waits)} probes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--repeat", type=int, default=5, help="rounds of (API import, baseline) per database")
    parser.add_argument("--big-mb", type=int, help="run the streaming check with a file of this many MB instead")
    args = parser.parse_args()
    if args.big_mb:
        stream_check(args.big_mb)
        return
    pairs = debian_pairs(args.rows)
    body = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs).encode()
    print(f"{len(pairs)} pairs, {len(body) / 1e6:.1f} MB of JSONL")
    goals = {"sqlite": 0.5, "postgres": 0.3}
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        runs = bench(db, pairs, body, args.pg_url, args.repeat)
        for r in runs:
            print(f"{db:9} API {r['api_s']:6.2f} s = {len(pairs) / r['api_s']:8,.0f} rows/s | baseline executemany "
                  f"{r['baseline_s']:6.2f} s = {len(pairs) / r['baseline_s']:8,.0f} rows/s | ratio {r['ratio']:.2f}")
        ratios = sorted(r["ratio"] for r in runs)
        print(f"{db:9} median ratio {statistics.median(ratios):.2f} of {len(runs)} rounds "
              f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f}; goal >= {goals[db]})")


if __name__ == "__main__":
    main()
