"""A budget: pick N of the clean pairs that cover the embedding space, and say how well they cover it.

`diverse` (the default) is k-means medoids: scikit-learn's KMeans with N centres (k-means++ seeding; MiniBatchKMeans
above FULL_KMEANS_WORK),
then for each centre the nearest real pair not already picked. It minimises the mean distance from a pair to
its nearest picked pair, which is what a training set's coverage means; greedy k-center minimises the worst
distance instead but, measured on Debian descriptions, loses to random on the mean (benchmarks/README.md,
"Budget"). Selection is stratified by label: every label first gets min(its size, `min_per_label`) pairs,
then the rest of the budget is shared in proportion to the labels' sizes (largest remainders), so no label
falls under its minimum unless it has fewer pairs.

Coverage is measured over every clean pair (the candidates): the mean and the maximum cosine distance
(1 - cosine) to the nearest selected pair. Lower is better.
"""

from collections import Counter
from dataclasses import dataclass

import numpy as np

BLOCK = 4096  # candidate rows per distance block: bounds the (block x selected) matrix
KMEANS_MAX_ROWS = 200_000
FULL_KMEANS_WORK = 50_000_000  # rows x centres up to which full (Lloyd) k-means runs  # k-means fits on a sample of at most this many rows of a label; all rows are assigned


@dataclass
class Coverage:
    mean_distance_to_nearest_selected: float
    max_distance_to_nearest_selected: float

    def as_dict(self) -> dict:
        return {"mean_distance_to_nearest_selected": round(self.mean_distance_to_nearest_selected, 4),
                "max_distance_to_nearest_selected": round(self.max_distance_to_nearest_selected, 4),
                "distance": "1 - cosine similarity of input embeddings; lower is better"}


def coverage(vectors: np.ndarray, selected: np.ndarray) -> Coverage:
    """Distance from every row of `vectors` (unit length) to its nearest selected row."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not len(vectors) or not len(selected):
        return Coverage(0.0, 0.0)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors[np.asarray(selected, dtype=np.int64)])
    nearest = np.concatenate([index.search(vectors[s:s + BLOCK], 1)[0][:, 0] for s in range(0, len(vectors), BLOCK)])
    distance = np.clip(1.0 - nearest, 0.0, 2.0)
    return Coverage(float(distance.mean()), float(distance.max()))


def quotas(labels: list[str], budget: int, min_per_label: int) -> dict[str, int]:
    """How many pairs each label gets: a share in proportion to its size, raised to its minimum
    (min(size, min_per_label)) where the share is smaller, the others shrunk to fit (largest remainders)."""
    sizes = Counter(labels)
    floor = {label: min(n, min_per_label) for label, n in sizes.items()}
    if sum(floor.values()) >= budget:  # the minimums alone exceed the budget: share it evenly instead
        floor = {label: min(n, budget // len(sizes)) for label, n in sizes.items()}
    fixed: dict[str, int] = {}
    while True:
        free = [label for label in sizes if label not in fixed]
        rest = budget - sum(fixed.values())
        free_total = sum(sizes[label] for label in free)
        if not free or free_total == 0:
            return {**dict.fromkeys(sizes, 0), **fixed}
        exact = {label: min(sizes[label], rest * sizes[label] / free_total) for label in free}
        under = [label for label in free if exact[label] < floor[label]]
        if under:
            fixed.update({label: floor[label] for label in under})
            continue
        given = {label: int(exact[label]) for label in free}
        left = rest - sum(given.values())
        for label in sorted(free, key=lambda lab: (-(exact[lab] - given[lab]), lab)):
            if left <= 0:
                break
            if given[label] < sizes[label]:
                given[label] += 1
                left -= 1
        return {**fixed, **given}


def kmeans_medoids(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k row positions: the nearest distinct row to each of k k-means centres."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    n = len(vectors)
    if k >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    sample = vectors if n <= KMEANS_MAX_ROWS else vectors[rng.choice(n, KMEANS_MAX_ROWS, replace=False)]
    if len(sample) * k <= FULL_KMEANS_WORK:
        model = KMeans(n_clusters=k, random_state=seed, n_init=1, max_iter=50).fit(sample)
    else:  # mini-batches: measured to leave small clusters uncovered more often, so only where full k-means is too slow
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=1, batch_size=max(4096, 3 * k),
                                max_no_improvement=20).fit(sample)
    centres = model.cluster_centers_.astype(np.float32)
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    depth = min(n, 16)
    _, nearest = index.search(centres, depth)
    picked: list[int] = []
    taken: set[int] = set()
    for candidates in nearest.tolist():
        for row in candidates:
            if row >= 0 and row not in taken:
                taken.add(row)
                picked.append(row)
                break
    if len(picked) < k:  # centres that shared all their nearest rows: fill with random rows not taken
        spare = np.setdiff1d(np.arange(n), np.fromiter(taken, dtype=np.int64, count=len(taken)))
        picked += rng.choice(spare, k - len(picked), replace=False).tolist()
    return np.sort(np.asarray(picked, dtype=np.int64))


def greedy_k_center(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The farthest-first traversal (Gonzalez): for the benchmark's comparison, not offered as a selection."""
    n = len(vectors)
    rng = np.random.default_rng(seed)
    picked = [int(rng.integers(n))]
    nearest = 1.0 - vectors @ vectors[picked[0]]
    for _ in range(min(k, n) - 1):
        row = int(np.argmax(nearest))
        picked.append(row)
        nearest = np.minimum(nearest, 1.0 - vectors @ vectors[row])
    return np.sort(np.asarray(picked, dtype=np.int64))


def select(vectors: np.ndarray | None, labels: list[str], budget: int, method: str, seed: int,
           min_per_label: int) -> np.ndarray:
    """Row positions of the selected pairs, stratified by label. Without vectors, `diverse` cannot see the
    space, so it falls back to random (the caller records that)."""
    n = len(labels)
    if budget >= n:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for row, label in enumerate(labels):
        by_label.setdefault(label, []).append(row)
    chosen = []
    for label, k in sorted(quotas(labels, budget, min_per_label).items()):
        rows = np.asarray(by_label[label], dtype=np.int64)
        if k <= 0:
            continue
        if method == "diverse" and vectors is not None:
            chosen.append(rows[kmeans_medoids(vectors[rows], k, seed)])
        else:
            chosen.append(np.sort(rng.choice(rows, k, replace=False)))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
