"""Embedders side by side on the Debian descriptions: encode speed and near-duplicate quality.

    .venv/bin/python benchmarks/bench_embedders.py                       # both: 3,000 pairs, speed on 2,000/all
    .venv/bin/python benchmarks/bench_embedders.py --models minilm-static-256 --speed-texts 51666

Quality: N Debian pairs, 2% of them replaced by edited copies of other pairs (benchmarks/debian_faults.py:
words dropped, inserted or upper-cased). Each model's vectors go through the same exact kNN (k=10) and the
near_duplicate rule (j among i's k nearest with cosine >= threshold, connected components). Reported:
  copy recall    = injected copies that land in one cluster with their source;
  precision      = flagged examples that are an injected copy or its source (natural near-duplicates of
                   Debian, e.g. sibling -dev/-doc packages, count against it, equally for every model);
  pair AP        = average precision of ranking every kNN pair by cosine, positives = (copy, source):
                   how well the model separates injected copies from everything else, at any threshold.
Speed: texts/s of `encode` on the first M descriptions (model already loaded, after a short warm-up).
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

from benchmarks.common import DEBIAN  # noqa: E402
from benchmarks.debian_faults import inject_faults, load_pairs  # noqa: E402

THRESHOLDS = (0.80, 0.84, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99)


def components(sims: np.ndarray, idx: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster label per row (rows alone in their cluster get -1), as near_clusters builds them."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n, k = idx.shape
    mask = (idx >= 0) & (sims >= threshold)
    sources = np.repeat(np.arange(n), k)[mask.ravel()]
    targets = idx.ravel()[mask.ravel()]
    graph = coo_matrix((np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    return np.where(sizes[labels] > 1, labels, -1)


def quality(vectors: np.ndarray, copy_pairs: list[tuple[int, int]], k: int = 10) -> dict:
    from sklearn.metrics import average_precision_score

    from app.embeddings.index import knn

    sims, idx = knn(vectors, k)
    involved = {row for pair in copy_pairs for row in pair}
    result = {}
    for threshold in THRESHOLDS:
        labels = components(sims, idx, threshold)
        found = sum(1 for copy, source in copy_pairs if labels[copy] >= 0 and labels[copy] == labels[source])
        flagged = set(np.flatnonzero(labels >= 0).tolist())
        precision = len(flagged & involved) / len(flagged) if flagged else 1.0
        result[threshold] = (found / len(copy_pairs), precision, len(flagged))
    positives = {frozenset(pair) for pair in copy_pairs}
    pairs = {}
    n = len(vectors)
    for row in range(n):
        for slot in range(k):
            other = int(idx[row, slot])
            if other >= 0:
                key = frozenset((row, other))
                pairs[key] = max(pairs.get(key, -1.0), float(sims[row, slot]))
    keys = list(pairs)
    ap = average_precision_score([key in positives for key in keys], [pairs[key] for key in keys])
    missed = len(positives - set(keys))  # copies whose source is not even among the k nearest
    return {"by_threshold": result, "pair_ap": ap * (1 - missed / len(positives)), "not_in_knn": missed}


def texts_per_second(embedder, texts: list[str]) -> float:
    embedder.encode(texts[:64])  # load + warm up
    started = time.perf_counter()
    embedder.encode(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="minilm-static-256,all-MiniLM-L6-v2")
    parser.add_argument("--pairs", type=int, default=3000, help="pairs for the quality figures")
    parser.add_argument("--speed-texts", default="minilm-static-256=51666,all-MiniLM-L6-v2=2000,hashing=51666",
                        help="texts timed per model (model=count, ...)")
    parser.add_argument("--data", type=Path, default=DEBIAN)
    args = parser.parse_args()

    from app.embeddings import get_embedder

    pairs, faults = inject_faults(load_pairs(args.pairs, path=args.data), flip=0, copies=0.02, broken=0)
    row_of = {p["id"]: row for row, p in enumerate(pairs)}
    copy_pairs = [(row_of[copy], row_of[source]) for copy, source in faults.edited_copies.items()]
    texts = [p["prompt"] for p in pairs]
    all_texts = [p["prompt"] for p in load_pairs(10**6, path=args.data)]
    counts = dict(item.split("=") for item in args.speed_texts.split(","))
    print(f"{len(pairs)} pairs, {len(copy_pairs)} injected near-copies; {os.cpu_count()} CPU cores")
    for name in args.models.split(","):
        embedder = get_embedder(name)
        started = time.perf_counter()
        embedder.encode(["warm up"])
        loaded = time.perf_counter() - started
        speed_texts = all_texts[: int(counts.get(name, 2000))]
        speed = texts_per_second(embedder, speed_texts)
        started = time.perf_counter()
        vectors = embedder.encode(texts)
        encode_s = time.perf_counter() - started
        q = quality(vectors, copy_pairs)
        print(f"\n== {name} (dim {embedder.dim}) ==")
        print(f"load {loaded:.1f} s; encode {speed:,.0f} texts/s on {len(speed_texts):,} texts; "
              f"{len(texts):,} quality texts in {encode_s:.1f} s")
        print(f"pair AP {q['pair_ap']:.3f}; copies whose source is not among the 10 nearest: {q['not_in_knn']}")
        print("threshold  copy-recall  precision  flagged")
        for threshold, (recall, precision, flagged) in q["by_threshold"].items():
            print(f"  {threshold:.2f}      {recall:.3f}       {precision:.3f}     {flagged}")


if __name__ == "__main__":
    main()
