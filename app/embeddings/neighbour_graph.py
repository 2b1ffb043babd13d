"""The analysis's k-nearest-neighbour graph, kept on disk so that an export's leakage check can reuse it.

The analysis finds each example's k nearest other examples (`AnalysisContext.neighbours`); an
export then needs every held-out input that is a near-duplicate of a train input, which would
otherwise be an exhaustive search of every held-out vector against every train vector. The graph
file holds, per example: its id, its k neighbours' ids and similarities, and a fingerprint of the
vector the analysis used, so that the export can tell which examples still have that vector
(`fresh`) and search only the others exhaustively. `app/exports/leakage.py` explains why that is exact.

The fingerprint is the raw stored vector times a fixed, seeded random projection (4 unit vectors):
any change to a vector beyond float rounding moves it, and it costs one small matrix product.
"""

import uuid
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

GRAPH_FILE = "neighbour_graph.npz"
FINGERPRINT_WIDTH = 4
_PROJECTION_SEED = 6_2026
# Two fingerprints of the same float32 vector differ by float rounding (~1e-8). A change of a unit vector
# moves each projection by ~|change| / sqrt(dim); one too small to show (|change| below ~1e-5) moves
# similarities far less than the leakage check's margin (app.exports.leakage.MARGIN, 1e-3).
FINGERPRINT_TOLERANCE = 1e-6


@dataclass
class NeighbourGraph:
    model: str
    ids: np.ndarray           # (n,) int64 example ids
    neighbours: np.ndarray    # (n, k) int64 example ids of the k nearest others, best first; -1 = none
    similarities: np.ndarray  # (n, k) float32 cosine similarities of those; -inf = none
    fingerprints: np.ndarray  # (n, FINGERPRINT_WIDTH) float32; NaN = the example had no vector

    @property
    def k(self) -> int:
        return int(self.neighbours.shape[1])


@lru_cache(maxsize=4)
def _projection(dim: int) -> np.ndarray:
    """FINGERPRINT_WIDTH random unit rows of `dim` values."""
    rows = np.random.default_rng(_PROJECTION_SEED).standard_normal((FINGERPRINT_WIDTH, dim))
    return np.ascontiguousarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float32)


def fingerprints(vectors: np.ndarray) -> np.ndarray:
    """One row per vector (raw, as stored); an all-zero row (no vector) gets NaN, which matches nothing.

    One einsum per projection row, not a matrix product: BLAS would start its threads for this small
    product, and on a busy machine waiting for them cost 10-100 times the arithmetic."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        return np.full((len(vectors), FINGERPRINT_WIDTH), np.nan, dtype=np.float32)
    found = np.stack([np.einsum("ij,j->i", vectors, row) for row in _projection(vectors.shape[1])], axis=1)
    found[~vectors.any(axis=1)] = np.nan
    return found


def same_vectors(stored: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Per row: do the two fingerprints belong to the same vector (NaN on either side: no)."""
    return (np.abs(stored - current) <= FINGERPRINT_TOLERANCE).all(axis=1)


def build(model: str, ids: np.ndarray, vectors: np.ndarray, similarities: np.ndarray,
          rows: np.ndarray) -> NeighbourGraph:
    """The graph of `knn(vectors, k)`'s answer (similarities, row indices), rows aligned with ids."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    neighbours = np.where(rows >= 0, ids[np.clip(rows, 0, None)], -1)
    return NeighbourGraph(model=model, ids=ids, neighbours=neighbours.astype(np.int64),
                          similarities=np.asarray(similarities, dtype=np.float32), fingerprints=fingerprints(vectors))


def analysis_cache_dir(data_dir: Path, dataset_id: int) -> Path:
    """Where the analysis keeps results between runs of a dataset (`AnalysisContext.cache_dir`)."""
    return Path(data_dir) / "analysis" / f"dataset-{dataset_id}"


def graph_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / GRAPH_FILE


def save(cache_dir: Path, graph: NeighbourGraph) -> Path:
    """Write the graph atomically (a temporary file, then a rename): a reader sees the old or the new one."""
    path = graph_path(cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")  # unique per writer, threads included
    try:
        with open(partial, "wb") as out:
            np.savez(out, model=np.array(graph.model), ids=graph.ids, neighbours=graph.neighbours,
                     similarities=graph.similarities, fingerprints=graph.fingerprints)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def load(cache_dir: Path | None) -> NeighbourGraph | None:
    """The saved graph, or None if there is none or it cannot be read (the caller then searches exhaustively)."""
    if cache_dir is None:
        return None
    try:
        with np.load(graph_path(cache_dir), allow_pickle=False) as saved:
            graph = NeighbourGraph(model=str(saved["model"]), ids=saved["ids"].astype(np.int64, copy=False),
                                   neighbours=saved["neighbours"].astype(np.int64, copy=False),
                                   similarities=saved["similarities"].astype(np.float32, copy=False),
                                   fingerprints=saved["fingerprints"].astype(np.float32, copy=False))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # missing, truncated, not a graph
        return None
    n = len(graph.ids)
    shapes_agree = (graph.neighbours.ndim == 2 and graph.neighbours.shape[0] == n
                    and graph.similarities.shape == graph.neighbours.shape
                    and graph.fingerprints.shape == (n, FINGERPRINT_WIDTH))
    return graph if shapes_agree else None
