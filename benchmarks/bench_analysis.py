"""Analysis benchmark on real Debian data, against the bare libraries doing the same work.

    .venv/bin/python benchmarks/bench_analysis.py                 # 5,000 pairs: full run, re-run, detection
    .venv/bin/python benchmarks/bench_analysis.py --study 3000    # label_issue features: embedding vs +TF-IDF

Full run: N pairs (prompt = description, completion = section) with injected faults (3% flipped
sections, 2% edited copies of other pairs, 1% format faults) are imported into a fresh SQLite
database; then, in the same process and with the model already loaded in both cases:
  bare  = SentenceTransformer.encode(texts) + TF-IDF + cross_val_predict(LogisticRegression)
          + cleanlab find_label_issues + get_label_quality_scores   (the same label work, no app)
  full  = Winnow's analysis job (embed + store vectors, faiss kNN, all seven checks, findings saved)
  rerun = the analysis again after editing 1% of the inputs
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.debian_faults import inject_faults, load_pairs, precision_recall  # noqa: E402


def bare_label_pipeline(model, texts: list[str], labels: list[str], folds: int = 5):
    """What the libraries do on their own: encode, then the same label-issue computation."""
    import numpy as np
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    vectors = model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    rows = [i for i, label in enumerate(labels) if counts[label] >= folds]
    classes = sorted({labels[i] for i in rows})
    y = np.array([classes.index(labels[i]) for i in rows])
    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True, dtype=np.float32)
    features = hstack([csr_matrix(vectors[rows]), tfidf.fit_transform([texts[i] for i in rows])], format="csr")
    probabilities = cross_val_predict(LogisticRegression(C=4.0, max_iter=300), features, y, method="predict_proba",
                                      cv=StratifiedKFold(n_splits=folds, shuffle=True, random_state=0))
    issues = find_label_issues(y, probabilities, filter_by="prune_by_noise_rate")
    get_label_quality_scores(y, probabilities)
    return vectors, issues


def study_from_database(url: str, n: int, rows_limit: int = 0, cs: tuple[float, ...] = (4.0, 1.0)) -> None:
    """The feature study on the vectors a full run stored (no encoding): same pairs, same flips."""
    import numpy as np
    from sqlalchemy import create_engine, text

    _, faults = inject_faults(load_pairs(n))
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT e.external_id, e.input, e.label, m.vector FROM examples e JOIN embeddings m "
            "ON m.example_id = e.id AND m.model = 'all-MiniLM-L6-v2' ORDER BY e.id")).all()
    rows = [r for r in rows if r[2]][: rows_limit or None]
    pairs = [{"id": r[0], "prompt": r[1], "completion": r[2]} for r in rows]
    vectors = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
    compare_features(pairs, vectors, faults, cs)


def study(n: int) -> None:
    """Rank flipped labels with each feature set on the same embeddings and folds."""
    from app.embeddings import get_embedder

    pairs, faults = inject_faults(load_pairs(n), flip=0.05, copies=0, broken=0)
    texts = [p["prompt"] for p in pairs]
    started = time.perf_counter()
    vectors = get_embedder("all-MiniLM-L6-v2").encode(texts)
    print(f"encoded {n} texts in {time.perf_counter() - started:.0f} s")
    compare_features(pairs, vectors, faults)


def compare_features(pairs, vectors, faults, cs: tuple[float, ...] = (4.0, 1.0)) -> None:
    import numpy as np
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.metrics import roc_auc_score

    from app.checks.label_issue import label_features, out_of_sample_probabilities

    texts = [p["prompt"] for p in pairs]
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p["completion"]] = counts.get(p["completion"], 0) + 1
    rows = [i for i, p in enumerate(pairs) if counts[p["completion"]] >= 5]
    classes = sorted({pairs[i]["completion"] for i in rows})
    y = np.array([classes.index(pairs[i]["completion"]) for i in rows])
    truth = np.array([pairs[i]["id"] in faults.flipped for i in rows])
    print(f"{len(rows)} pairs in {len(classes)} sections with >= 5 pairs; {truth.sum()} flipped")
    print("| features | C | AUROC of flipped | flagged | precision | recall | top-k precision (k = #flipped) | s |")
    print("|---|---|---|---|---|---|---|---|")
    for c in cs:
        for kind in ("embedding", "embedding+tfidf"):
            started = time.perf_counter()
            features = label_features([texts[i] for i in rows], vectors[rows], kind)
            probabilities = out_of_sample_probabilities(features, y, 5, c)
            issues = find_label_issues(y, probabilities, filter_by="prune_by_noise_rate")
            quality = get_label_quality_scores(y, probabilities)
            seconds = time.perf_counter() - started
            auroc = roc_auc_score(truth, 1 - quality)
            top = np.argsort(quality)[: truth.sum()]
            precision, recall = (truth & issues).sum() / max(issues.sum(), 1), (truth & issues).sum() / truth.sum()
            print(f"| {kind} | {c} | {auroc:.3f} | {issues.sum()} | {precision:.2f} | {recall:.2f} | "
                  f"{truth[top].mean():.2f} | {seconds:.1f} |")


def import_pairs(pairs: list[dict], name: str) -> int:
    import io
    import json

    from app.db import session_scope
    from app.importers import open_source
    from app.schemas.dataset import DatasetCreate
    from app.services import datasets
    from app.services.imports import run_import

    body = io.BytesIO("\n".join(json.dumps(p) for p in pairs).encode())
    with session_scope() as session:
        dataset = datasets.create_dataset(session, DatasetCreate(name=name, task_type="classification"))
        run_import(session, dataset.id, open_source(body, filename="pairs.jsonl"), batch_size=2000)
        return dataset.id


def analyse(dataset_id: int, report=None) -> tuple[float, dict]:
    from app.db import session_scope
    from app.jobs.runner import JobRunner
    from app.services import analysis, jobs

    runner = JobRunner()
    started = time.perf_counter()
    with session_scope() as session:
        job = analysis.start_analysis(session, dataset_id, run_by=runner.owner)
    runner.run_in_foreground(job.id, report)
    seconds = time.perf_counter() - started
    with session_scope() as session:
        finished = jobs.get_job(session, job.id)
    assert finished.status == "succeeded", finished.error
    return seconds, finished.result


def flagged_external_ids(dataset_id: int, check: str) -> set[str]:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import Example, Finding

    with session_scope() as session:
        return set(session.scalars(
            select(Example.external_id).join(Finding, Finding.example_id == Example.id)
            .where(Finding.dataset_id == dataset_id, Finding.check == check, Finding.status == "open")))


def edit_one_percent(dataset_id: int) -> int:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import Example
    from app.schemas.example import ExampleUpdate
    from app.services.examples import update_example

    with session_scope() as session:
        examples = list(session.scalars(select(Example).where(Example.dataset_id == dataset_id).order_by(Example.id)))
        chosen = examples[:: 100]
        for example in chosen:
            update_example(session, example.id, ExampleUpdate(version=example.version,
                                                              input=example.input + " (revised)"))
        return len(chosen)


def full(n: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="winnow-bench-"))
    os.environ["WINNOW_DATA_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    os.environ["WINNOW_EMBEDDING_MODEL"] = "all-MiniLM-L6-v2"
    from app.embeddings import get_embedder
    from app.migrate import upgrade

    upgrade(os.environ["DATABASE_URL"])
    pairs, faults = inject_faults(load_pairs(n))
    texts = [p["prompt"] for p in pairs]
    labels = [p["completion"] for p in pairs]
    dataset_id = import_pairs(pairs, "debian-bench")
    model = get_embedder().model  # load once, outside both timings
    model.encode(["warm up"])

    started = time.perf_counter()
    bare_label_pipeline(model, texts, labels)
    bare = time.perf_counter() - started
    print(f"bare libraries: {bare:.1f} s")
    first, result = analyse(dataset_id)
    print(f"winnow analysis: {first:.1f} s ({result['seconds']})")
    changed = edit_one_percent(dataset_id)
    again, result_again = analyse(dataset_id)
    print(f"re-analysis after editing {changed} inputs: {again:.1f} s, embedded {result_again['embedded']}")

    label_p, label_r = precision_recall(flagged_external_ids(dataset_id, "label_issue"), faults.flipped)
    near = flagged_external_ids(dataset_id, "near_duplicate") | flagged_external_ids(dataset_id, "exact_duplicate")
    copies = set(faults.edited_copies)
    originals = set(faults.edited_copies.values())
    copy_r = sum(1 for c, o in faults.edited_copies.items() if c in near or o in near) / max(len(copies), 1)
    near_p = len(near & (copies | originals)) / max(len(near), 1)
    fmt_p, fmt_r = precision_recall(flagged_external_ids(dataset_id, "format"), faults.format)
    print()
    print(f"| pairs | bare libraries | Winnow analysis | ratio | re-analysis (1% edited) | re / first |")
    print(f"|---|---|---|---|---|---|")
    print(f"| {n} | {bare:.1f} s | {first:.1f} s | {first / bare:.2f}x | {again:.1f} s | {again / first:.1%} |")
    print()
    print("| injected fault | count | check | recall | precision |")
    print("|---|---|---|---|---|")
    print(f"| flipped section | {len(faults.flipped)} | label_issue | {label_r:.2f} | {label_p:.2f} |")
    print(f"| edited copy (copy or original flagged) | {len(copies)} | near/exact_duplicate | {copy_r:.2f} | "
          f"{near_p:.2f} |")
    print(f"| format fault | {len(faults.format)} | format | {fmt_r:.2f} | {fmt_p:.2f} |")
    print(f"findings per check: {result['findings']}")
    print()
    print("label_issue findings kept at a label-quality cut-off (flipped sections as the truth):")
    print("| label_quality below | flagged | precision | recall |")
    print("|---|---|---|---|")
    qualities = label_qualities(dataset_id)
    for cut in (0.02, 0.05, 0.1, 0.2, 1.01):
        kept = {external for external, quality in qualities.items() if quality < cut}
        p, r = precision_recall(kept, faults.flipped)
        print(f"| {min(cut, 1.0)} | {len(kept)} | {p:.2f} | {r:.2f} |")


def label_qualities(dataset_id: int) -> dict[str, float]:
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import Example, Finding

    with session_scope() as session:
        return {external: details["label_quality"] for external, details in session.execute(
            select(Example.external_id, Finding.details).join(Finding, Finding.example_id == Example.id)
            .where(Finding.dataset_id == dataset_id, Finding.check == "label_issue"))}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--study", type=int, default=0, help="run the label-feature study on this many pairs")
    parser.add_argument("--study-db", default="", help="run the study on the vectors of a full run's database URL")
    parser.add_argument("--study-rows", type=int, default=0, help="with --study-db: only the first N pairs")
    parser.add_argument("--study-c", type=float, nargs="*", default=[4.0, 1.0], help="inverse regularisation")
    args = parser.parse_args()
    if args.study_db:
        study_from_database(args.study_db, args.pairs, args.study_rows, tuple(args.study_c))
    elif args.study:
        study(args.study)
    else:
        full(args.pairs)
