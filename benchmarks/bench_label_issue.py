"""label_issue: which features and which model rank injected label flips best, at what cost.

    .venv/bin/python benchmarks/bench_label_issue.py                  # 5,000 Debian pairs, 150 flips
    .venv/bin/python benchmarks/bench_label_issue.py --pairs 20000 --variants default dense

Same pairs, same flips (benchmarks/debian_faults.py: 3% flipped sections), same 5 folds for every
variant; cleanlab's `find_label_issues` + `get_label_quality_scores` on the out-of-sample
probabilities. AP = average precision of the flips ranked by 1 - label quality; flagged, precision
and recall = what the check reports (an issue whose suggested label differs from the given one).

Variants:
  baseline  the label check as it was before issue #17 (MiniLM transformer vectors + TF-IDF with a
            50,000-word vocabulary + LogisticRegression lbfgs, C 4), the bar to keep
  default   the check as it is now, through `LabelIssueCheck` itself (static vectors)
  sampled   the check with each fold learning from 1,000 sampled rows (what max_train_rows does at scale)
  lbfgs     the check with `model: lbfgs` (LogisticRegression lbfgs, C 4) instead of SGD
  sgd-alpha=X  the check with another SGD regularisation
The transformer vectors are cached under --workdir (encoding 5,000 texts takes minutes on 2 cores).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from benchmarks.debian_faults import inject_faults, load_pairs  # noqa: E402

FOLDS = 5


def cleanlab_scores(labels: np.ndarray, probabilities: np.ndarray):
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    issues = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    quality = get_label_quality_scores(labels, probabilities)
    return issues & (probabilities.argmax(axis=1) != labels), 1 - quality


def report(name: str, truth: np.ndarray, flagged: np.ndarray, scores: np.ndarray, seconds: float) -> None:
    from sklearn.metrics import average_precision_score

    hits = int((truth & flagged).sum())
    print(f"| {name} | {average_precision_score(truth, scores):.3f} | {int(flagged.sum())} | "
          f"{hits / max(flagged.sum(), 1):.3f} | {hits / truth.sum():.3f} | {seconds:.1f} |", flush=True)


def transformer_vectors(texts: list[str], workdir: Path) -> np.ndarray:
    path = workdir / f"minilm-{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    from app.embeddings import get_embedder

    started = time.perf_counter()
    vectors = get_embedder("all-MiniLM-L6-v2").encode(texts)
    print(f"(encoded {len(texts)} texts with the transformer in {time.perf_counter() - started:.0f} s)", flush=True)
    workdir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def baseline(texts, vectors, labels) -> np.ndarray:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True, dtype=np.float32)
    features = hstack([csr_matrix(vectors), tfidf.fit_transform(texts)], format="csr")
    return cross_val_predict(LogisticRegression(C=4.0, max_iter=300), features, labels, method="predict_proba",
                             cv=StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0))


def through_check(texts, raw_labels, labels, vectors, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """The check's own probabilities (its features, folds and model); (flagged, scores) per row as above."""
    from app.checks.base import AnalysisContext, DatasetInfo, ExampleRow
    from app.checks.label_issue import LabelIssueCheck

    check = LabelIssueCheck()
    examples = [ExampleRow(i + 1, text, label, label) for i, (text, label) in enumerate(zip(texts, raw_labels))]
    ctx = AnalysisContext(dataset=DatasetInfo(id=1, task_type="classification"), examples=examples, vectors=vectors,
                          settings={"label_issue": settings})
    probabilities = check._probabilities(ctx, list(range(len(texts))), sorted(set(raw_labels)), labels,
                                         ctx.settings_of(check))
    return cleanlab_scores(labels, probabilities)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--variants", nargs="*", default=["baseline", "default", "sampled", "lbfgs"])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/winnow-label-bench"))
    args = parser.parse_args()

    from app.embeddings.static import StaticEmbedder
    from app.config import get_settings

    pairs, faults = inject_faults(load_pairs(args.pairs))
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p["completion"]] = counts.get(p["completion"], 0) + 1
    pairs = [p for p in pairs if p["completion"] and counts[p["completion"]] >= FOLDS]
    texts = [p["prompt"] for p in pairs]
    raw_labels = [p["completion"] for p in pairs]
    classes = sorted(set(raw_labels))
    labels = np.array([classes.index(label) for label in raw_labels])
    truth = np.array([p["id"] in faults.flipped for p in pairs])
    print(f"{len(pairs)} pairs in {len(classes)} sections with >= {FOLDS} pairs; {truth.sum()} flipped\n")
    print("| variant | AP | flagged | precision | recall | s |\n|---|---|---|---|---|---|")
    static = StaticEmbedder(get_settings().models_dir / "minilm-static-256").encode(texts)
    for variant in args.variants:
        started = time.perf_counter()
        if variant == "baseline":
            vectors = transformer_vectors(texts, args.workdir)
            started = time.perf_counter()
            flagged, scores = cleanlab_scores(labels, baseline(texts, vectors, labels))
        elif variant == "default":
            flagged, scores = through_check(texts, raw_labels, labels, static, {})
        elif variant == "sampled":
            flagged, scores = through_check(texts, raw_labels, labels, static, {"max_train_rows": 1000})
        elif variant == "lbfgs":
            flagged, scores = through_check(texts, raw_labels, labels, static, {"model": "lbfgs"})
        elif variant.startswith("sgd-alpha="):
            flagged, scores = through_check(texts, raw_labels, labels, static, {"alpha": float(variant.split("=")[1])})
        else:
            raise SystemExit(f"unknown variant {variant}")
        report(variant, truth, flagged, scores, time.perf_counter() - started)


if __name__ == "__main__":
    main()
