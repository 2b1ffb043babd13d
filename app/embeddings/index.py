"""k nearest neighbours by cosine similarity, through faiss: exact up to a size, HNSW above it.

Vectors are L2-normalised, so inner product = cosine. Up to `EXACT_MAX_ROWS` rows, `IndexFlatIP`
answers exactly; its cost grows with n x n x d (every query scans every row), which stops being
cheap past a few tens of thousands of rows on two cores. Above that, an HNSW graph
(`IndexHNSWFlat`, inner-product metric) answers in about log n per query. Its parameters were
tuned on 100k Debian-derived inputs (benchmarks/bench_scale.py --recall) so that at least 99% of
the neighbour pairs that decide near-duplicates (similarity >= 0.92 among the exact k nearest)
are found; benchmarks/README.md has the figures. The checks only ever see (similarities, indices);
nothing here builds an n x n matrix.
"""

from collections.abc import Callable

import numpy as np

# Above this many rows the approximate index answers (exact search costs n^2 d).
EXACT_MAX_ROWS = 50_000
# HNSW graph degree, build-time and query-time beam widths (see the module docstring).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96
# Queries per faiss call: bounds the result buffers and lets progress be reported.
SEARCH_BATCH = 65_536

Progress = Callable[[str, int, int], None]  # (stage: "index" or "neighbour search", rows done, rows in all)


def uses_approximate_index(n: int, exact_max_rows: int = EXACT_MAX_ROWS) -> bool:
    return n > exact_max_rows


def build_index(vectors: np.ndarray, exact_max_rows: int = EXACT_MAX_ROWS, progress: Progress | None = None):
    import faiss

    dim = vectors.shape[1]
    if not uses_approximate_index(len(vectors), exact_max_rows):
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    for start in range(0, len(vectors), SEARCH_BATCH):  # in batches only to report progress
        stop = min(len(vectors), start + SEARCH_BATCH)
        index.add(vectors[start:stop])
        if progress:
            progress("index", stop, len(vectors))
    return index


def knn(vectors: np.ndarray, k: int, exact_max_rows: int = EXACT_MAX_ROWS,
        progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its k nearest OTHER rows: (similarities n x k float32, indices n x k int64).

    Rows are sorted by decreasing similarity; slots without a neighbour (n <= k) hold index -1
    and similarity -inf (drop them with `indices >= 0`).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = vectors.shape[0]
    if n == 0 or k <= 0:
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    return neighbours_in(build_index(vectors, exact_max_rows, progress), vectors, k, progress)


def neighbours_in(index, vectors: np.ndarray, k: int, progress: Progress | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`knn`'s answer from an index that holds exactly `vectors`, row for row."""
    n = vectors.shape[0]
    found = min(k + 1, n)
    sims = np.empty((n, found - 1), dtype=np.float32)
    idx = np.empty((n, found - 1), dtype=np.int64)
    for start in range(0, n, SEARCH_BATCH):
        stop = min(n, start + SEARCH_BATCH)
        sims[start:stop], idx[start:stop] = _without_self(*index.search(vectors[start:stop], found),
                                                          np.arange(start, stop))
        if progress:
            progress("neighbour search", stop, n)
    if idx.shape[1] < k:  # fewer rows than k + 1: pad
        pad = k - idx.shape[1]
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
    return sims, idx


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of `index` for each query (the queries are not in the index)."""
    sims, idx = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    idx = idx.astype(np.int64)
    return np.where(idx < 0, -np.inf, np.clip(sims, -1.0, 1.0)).astype(np.float32), idx


def _without_self(sims: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Exact duplicates may come back before "self", so remove it by identity: a stable sort moves the
    # self entry to the end (an approximate search may miss it: then the last hit goes), keep the rest.
    idx = idx.astype(np.int64)
    order = np.argsort(idx == rows[:, None], axis=1, kind="stable")[:, : idx.shape[1] - 1]
    idx = np.take_along_axis(idx, order, axis=1)
    sims = np.take_along_axis(sims, order, axis=1)
    sims = np.where(idx < 0, -np.inf, np.clip(sims, -1.0, 1.0)).astype(np.float32)
    return sims, idx
