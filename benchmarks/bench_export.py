"""Export throughput against a bare baseline, side by side in one process.

    .venv/bin/python benchmarks/bench_export.py [--rows 50000] [--repeat 3]

Loads the first N Debian package descriptions (input = short + long description, output = label =
section) into a throw-away SQLite database (or DATABASE_URL), then times, alternately:
- baseline: the same rows read with one SELECT and written as prompt/completion lines with json.dumps;
- winnow: `create_export` (selection, duplicate groups, stratified split, leakage check, sha256,
  token statistics with the model's tokenizer, manifest and dataset card), openai_chat format.
Prints rows/s for both and their ratio (goal: winnow >= 0.5x baseline), for:
- the first export after an analysis: the analysis's format check (run here alone, as the analysis
  job runs it) has counted every text's tokens into the shared cache, so the export counts none;
- a cold export: the token cache deleted first, so every text's tokens are counted (an export of a
  dataset never analysed);
- repeated exports (warm: token counts from the cache).
No embeddings are stored, so the near-duplicate half of the leakage check is skipped; the exact half runs.
"""

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path("/work/shared/data/debian_packages.jsonl.gz")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="winnow-bench-export-"))
    os.environ["WINNOW_DATA_DIR"] = str(tmp)
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sqlalchemy import text

    from app.config import get_settings
    from app.db import session_scope
    from app.importers import open_source
    from app.migrate import upgrade
    from app.schemas.dataset import DatasetCreate
    from app.schemas.export import ExportParams
    from app.services.datasets import create_dataset
    from app.services.exports import create_export
    from app.services.imports import run_import

    settings = get_settings()
    upgrade(settings.database_url)
    with gzip.open(DATA, "rt") as source, tempfile.TemporaryFile() as spool:
        for n, line in enumerate(source):
            if n >= args.rows:
                break
            record = json.loads(line)
            spool.write(json.dumps({"prompt": f"{record['short']}\n\n{record['long']}",
                                    "completion": record["section"]}).encode() + b"\n")
        with session_scope() as session:
            dataset = create_dataset(session, DatasetCreate(name="bench-export", task_type="classification"))
            outcome = run_import(session, dataset.id, open_source(spool, filename="x.jsonl"), batch_size=5000)
            dataset_id = dataset.id
    rows = outcome.imported
    print(f"{rows} rows imported into {settings.database_url.split('://')[0]}", flush=True)

    def baseline() -> float:
        start = time.perf_counter()
        with session_scope() as session, open(tmp / "baseline.jsonl", "w") as out:
            result = session.execute(text("SELECT input, output FROM examples WHERE dataset_id = :d ORDER BY id"),
                                     {"d": dataset_id})
            for input_text, output in result:
                out.write(json.dumps({"prompt": input_text, "completion": output}) + "\n")
        return time.perf_counter() - start

    def winnow() -> float:
        start = time.perf_counter()
        with session_scope() as session:
            create_export(session, dataset_id, ExportParams(format="openai_chat"), settings)
        return time.perf_counter() - start

    from app.checks.format import FormatCheck
    from app.embeddings.tokenizer import get_tokenizer, token_cache_path
    from app.services.analysis import load_context

    get_tokenizer()  # loading the tokenizer file once is start-up, not export work
    with session_scope() as session:
        ctx = load_context(session, dataset_id)
    ctx.cache_dir = settings.data_dir / "analysis" / f"dataset-{dataset_id}"  # as run_analysis sets it
    start = time.perf_counter()
    FormatCheck().run(ctx)
    format_seconds = time.perf_counter() - start
    after_base, after = baseline(), winnow()
    # Cold: no cached count, every text's tokens counted; warm: later exports find them in the cache.
    token_cache_path(settings.data_dir).unlink()
    cold_base, cold = baseline(), winnow()
    times = {"baseline": [], "winnow": []}
    for _ in range(args.repeat):
        times["baseline"].append(baseline())
        times["winnow"].append(winnow())
    base, ours = statistics.median(times["baseline"]), statistics.median(times["winnow"])
    print(f"analysis format check (counts and caches every text's tokens): {format_seconds:.2f} s")
    print(f"first export after an analysis: {rows / after:,.0f} rows/s ({after:.2f} s, baseline beside it "
          f"{after_base:.2f} s) = {after_base / after:.2f}x baseline (goal >= 0.5x)")
    print(f"baseline:           {rows / base:,.0f} rows/s (median {base:.2f} s of {args.repeat})")
    print(f"winnow, warm cache: {rows / ours:,.0f} rows/s (median {ours:.2f} s of {args.repeat}) "
          f"= {base / ours:.2f}x baseline (goal >= 0.5x)")
    print(f"winnow, cold cache (never analysed, every token counted): {rows / cold:,.0f} rows/s ({cold:.2f} s, "
          f"baseline beside it {cold_base:.2f} s) = {cold_base / cold:.2f}x baseline")


if __name__ == "__main__":
    main()
