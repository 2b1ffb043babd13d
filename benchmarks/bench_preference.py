"""Preference checks on a realistic preference set built from Debian package descriptions, with faults
injected at known places: recall per fault kind, false flags on clean pairs, and the length-bias figure.

    .venv/bin/python benchmarks/bench_preference.py                          # 3,000 pairs, hashing embedder
    .venv/bin/python benchmarks/bench_preference.py --model all-MiniLM-L6-v2 # the real embedding model

Clean pairs: prompt "Describe the package X"; chosen = its real description (short line + long text);
rejected = a degraded one, in equal shares: the description truncated to 30-60% of its words, another
package's description, or the short line only. The last two kinds are legitimate pairs that look
alike to an embedding (a truncation reaches cosine ~0.98 with the whole): they must NOT be flagged.
Faults (each on its own pairs, 2% of N each):
  identical        rejected = chosen                                   -> identical_sides
  near_identical   rejected = chosen with 1-2 words changed            -> identical_sides
  empty_side       rejected (or chosen) empty                          -> format
  reversed_copy    a second pair, same prompt, sides swapped           -> contradicting_preference
  reversed_near    the same with the prompt reworded                   -> contradicting_preference
  duplicate_prompt a second pair with the same prompt (whitespace/case)-> exact_duplicate
  near_prompt      a second pair with a reworded prompt                -> near_duplicate
The data go through the real import (trl_preference JSONL) and analysis job on a fresh SQLite database.
"""

import argparse
import gzip
import io
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.common import DEBIAN  # noqa: E402

EXPECTED = {"identical": "identical_sides", "near_identical": "identical_sides", "empty_side": "format",
            "reversed_copy": "contradicting_preference", "reversed_near": "contradicting_preference",
            "duplicate_prompt": "exact_duplicate", "near_prompt": "near_duplicate"}
REWORDED = ("Please describe the package {}.", "Describe the Debian package {}", "What is the package {}?")


def load_packages(path: Path = DEBIAN) -> list[dict]:
    """Packages with a short line and a long description of at least 15 words, one per description."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        packages = [json.loads(line) for line in handle]
    seen, kept = set(), []
    for p in packages:
        if p.get("short") and p.get("long") and len(p["long"].split()) >= 15 and p["long"] not in seen:
            seen.add(p["long"])
            kept.append(p)
    return kept


def _edit_words(text: str, rng: random.Random, edits: int) -> str:
    words = text.split(" ")
    for _ in range(edits):
        i = rng.randrange(len(words))
        words[i] = rng.choice(["fast", "small", "new", "simple", "free"])
    return " ".join(words)


def build(n: int, seed: int = 0, fault_share: float = 0.02) -> tuple[list[dict], dict[str, list[str]], dict]:
    """(trl_preference records, fault kind -> ids of the records that carry it, clean id -> rejected kind)."""
    rng = random.Random(seed)
    packages = load_packages()
    rng.shuffle(packages)
    packages = packages[:n]
    records, clean_kind = [], {}
    for i, p in enumerate(packages):
        chosen = f"{p['short']}\n\n{p['long']}"
        kind = ("truncated", "other_package", "short_only")[i % 3]
        if kind == "truncated":
            words = chosen.split(" ")
            rejected = " ".join(words[: max(1, int(len(words) * rng.uniform(0.3, 0.6)))])
        elif kind == "other_package":
            other = packages[(i + 1 + rng.randrange(n - 1)) % n]
            rejected = f"{other['short']}\n\n{other['long']}"
        else:
            rejected = p["short"]
        record = {"id": p["package"], "prompt": f"Describe the package {p['package']}", "chosen": chosen,
                  "rejected": rejected}
        records.append(record)
        clean_kind[record["id"]] = kind
    faults: dict[str, list[str]] = defaultdict(list)
    per_kind = max(1, int(n * fault_share))
    victims = rng.sample(range(n), per_kind * len(EXPECTED))
    for k, kind in enumerate(EXPECTED):
        for index in victims[k * per_kind:(k + 1) * per_kind]:
            record = records[index]
            clean_kind.pop(record["id"], None)
            name = record["id"].split("/")[0]
            if kind == "identical":
                record["rejected"] = record["chosen"]
            elif kind == "near_identical":
                record["rejected"] = _edit_words(record["chosen"], rng, rng.choice((1, 2)))
            elif kind == "empty_side":
                record["rejected" if rng.random() < 0.7 else "chosen"] = ""
            elif kind in ("reversed_copy", "reversed_near"):
                prompt = record["prompt"] if kind == "reversed_copy" else rng.choice(REWORDED).format(name)
                records.append({"id": f"{record['id']}/reversed", "prompt": prompt, "chosen": record["rejected"],
                                "rejected": record["chosen"]})
                faults[kind].append(f"{record['id']}/reversed")
                continue
            elif kind in ("duplicate_prompt", "near_prompt"):
                prompt = (f"  describe the PACKAGE   {name}" if kind == "duplicate_prompt"
                          else rng.choice(REWORDED).format(name))
                records.append({"id": f"{record['id']}/copy", "prompt": prompt, "chosen": record["chosen"],
                                "rejected": record["rejected"]})
                faults[kind].append(f"{record['id']}/copy")
                continue
            faults[kind].append(record["id"])
    return records, dict(faults), clean_kind


def import_and_analyse(records: list[dict]) -> tuple[int, float, float]:
    from app.db import session_scope
    from app.importers import open_source
    from app.jobs.runner import JobRunner
    from app.schemas.dataset import DatasetCreate
    from app.services import analysis, datasets, jobs
    from app.services.imports import run_import

    body = io.BytesIO("\n".join(json.dumps(r) for r in records).encode())
    started = time.perf_counter()
    with session_scope() as session:
        dataset = datasets.create_dataset(session, DatasetCreate(name="debian-preference", task_type="preference"))
        outcome = run_import(session, dataset.id, open_source(body, filename="pairs.jsonl"), batch_size=2000)
        assert not outcome.aborted and outcome.format == "trl_preference", outcome
        dataset_id = dataset.id
    import_seconds = time.perf_counter() - started
    runner = JobRunner()
    started = time.perf_counter()
    with session_scope() as session:
        job = analysis.start_analysis(session, dataset_id, run_by=runner.owner)
    runner.run_in_foreground(job.id)
    with session_scope() as session:
        finished = jobs.get_job(session, job.id)
    assert finished.status == "succeeded", finished.error
    return dataset_id, import_seconds, time.perf_counter() - started


def flagged_by_check(dataset_id: int) -> dict[str, set[str]]:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import Example, Finding

    flagged: dict[str, set[str]] = defaultdict(set)
    with session_scope() as session:
        for check, external_id, details in session.execute(
                select(Finding.check, Example.external_id, Finding.details)
                .join(Example, Example.id == Finding.example_id).where(Finding.dataset_id == dataset_id)):
            flagged[check].add(external_id)
    return flagged


def report(records, faults, clean_kind, flagged, dataset_id) -> None:
    from app.db import session_scope
    from app.services.report import build_report

    print("| fault | injected | expected check | recall |")
    print("|---|---|---|---|")
    for kind, ids in faults.items():
        check = EXPECTED[kind]
        hits = flagged[check]
        if kind in ("duplicate_prompt", "near_prompt"):  # the finding goes to one member of the pair, either one
            found = sum(i in hits or i.rsplit("/", 1)[0] in hits for i in ids)
        else:
            found = sum(i in hits for i in ids)
        print(f"| {kind} | {len(ids)} | {check} | {found / len(ids):.2f} ({found}/{len(ids)}) |")
    print()
    print("| clean rejected kind | pairs | flagged identical_sides | flagged contradicting_preference | "
          "flagged near_duplicate (prompt) |")
    print("|---|---|---|---|---|")
    by_kind = defaultdict(list)
    for record_id, kind in clean_kind.items():
        by_kind[kind].append(record_id)
    for kind, ids in sorted(by_kind.items()):
        print(f"| {kind} | {len(ids)} | {sum(i in flagged['identical_sides'] for i in ids)} | "
              f"{sum(i in flagged['contradicting_preference'] for i in ids)} | "
              f"{sum(i in flagged['near_duplicate'] for i in ids)} |")
    with session_scope() as session:
        bias = build_report(session, dataset_id).length_bias
    print()
    print(f"length_bias: {bias}")
    print("findings per check:", {check: len(ids) for check, ids in sorted(flagged.items())})


def cosine_baseline(records: list[dict], faults: dict, clean_kind: dict, per_kind: int = 200) -> None:
    """Why identical_sides measures text, not embeddings: the share of pairs an embedding-cosine rule would flag."""
    import numpy as np

    from app.checks.identical_sides import IdenticalSidesSettings, is_truncation, side_similarity
    from app.embeddings import get_embedder
    from app.text import normalise

    by_id = {r["id"]: r for r in records}
    groups = defaultdict(list)
    for record_id, kind in clean_kind.items():
        groups[f"clean: {kind}"].append(record_id)
    groups["fault: near_identical"] = list(faults["near_identical"])
    embedder = get_embedder("all-MiniLM-L6-v2")
    threshold = IdenticalSidesSettings().threshold
    print("| pairs | n | cosine >= 0.90 | cosine >= 0.95 | median cosine | identical_sides flags |")
    print("|---|---|---|---|---|---|")
    for name, ids in groups.items():
        ids = ids[:per_kind]
        chosen = embedder.encode([by_id[i]["chosen"] for i in ids])
        rejected = embedder.encode([by_id[i]["rejected"] for i in ids])
        cosine = (chosen * rejected).sum(axis=1) / (np.linalg.norm(chosen, axis=1) * np.linalg.norm(rejected, axis=1))
        flags = 0
        for i in ids:
            a, b = normalise(by_id[i]["chosen"]), normalise(by_id[i]["rejected"])
            flags += a == b or (not is_truncation(a, b) and side_similarity(a, b, threshold) >= threshold)
        print(f"| {name} | {len(ids)} | {(cosine >= 0.9).mean():.2f} | {(cosine >= 0.95).mean():.2f} | "
              f"{float(np.median(cosine)):.3f} | {flags / len(ids):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--model", default="hashing", help="embedding model (hashing or all-MiniLM-L6-v2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cosine-baseline", action="store_true",
                        help="only compare an embedding-cosine rule with identical_sides "
                             "(real model, 200 pairs a kind)")
    parser.add_argument("--report-only", metavar="FOLDER",
                        help="only report on an earlier run's folder (same --n/--seed)")
    args = parser.parse_args()
    workdir = Path(args.report_only or tempfile.mkdtemp(prefix="winnow-bench-preference-"))
    os.environ["WINNOW_DATA_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    os.environ["WINNOW_EMBEDDING_MODEL"] = args.model
    from app.migrate import upgrade

    upgrade(os.environ["DATABASE_URL"])
    records, faults, clean_kind = build(args.n, args.seed)
    if args.cosine_baseline:
        cosine_baseline(records, faults, clean_kind)
        return
    if args.report_only:
        report(records, faults, clean_kind, flagged_by_check(1), 1)
        return
    dataset_id, import_seconds, analysis_seconds = import_and_analyse(records)
    print(f"{len(records)} pairs ({args.n} clean + copies), embedder {args.model}: import {import_seconds:.1f} s, "
          f"analysis {analysis_seconds:.1f} s\n")
    report(records, faults, clean_kind, flagged_by_check(dataset_id), dataset_id)


if __name__ == "__main__":
    main()
