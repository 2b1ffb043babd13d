"""k nearest neighbours by cosine similarity, through faiss.

Vectors are L2-normalised, so inner product = cosine. `IndexFlatIP` is exact and needs no
training; it scans n x d floats per query in optimised BLAS batches, which is fine up to about
1e6 rows x 384 dims on CPU (memory is the vectors themselves, ~1.5 GB at 1e6). Beyond that,
swap in `IndexHNSWFlat` here; the checks only see (similarities, indices). Nothing here ever
builds an n x n matrix in Python.
"""

import numpy as np


def knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its k nearest OTHER rows: (similarities n x k float32, indices n x k int64).

    Rows are sorted by decreasing similarity; slots without a neighbour (n <= k) hold index -1
    and similarity -inf (drop them with `indices >= 0`).
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = vectors.shape[0]
    if n == 0 or k <= 0:
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    found = min(k + 1, n)
    sims, idx = index.search(vectors, found)
    idx = idx.astype(np.int64)
    # Drop each row's own hit. Exact duplicates may come back before "self", so remove it by
    # identity: a stable sort moves the self entry to the end, then keep the first k.
    order = np.argsort(idx == np.arange(n)[:, None], axis=1, kind="stable")[:, : found - 1]
    idx = np.take_along_axis(idx, order, axis=1)
    sims = np.take_along_axis(sims, order, axis=1)
    missing = idx < 0
    sims = np.where(missing, -np.inf, np.clip(sims, -1.0, 1.0)).astype(np.float32)
    if idx.shape[1] < k:  # fewer rows than k + 1: pad
        pad = k - idx.shape[1]
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        sims = np.pad(sims, ((0, 0), (0, pad)), constant_values=-np.inf)
    return sims, idx
