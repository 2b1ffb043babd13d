"""The analysis's k-nearest-neighbour graph, kept on disk so that an export's leakage check can reuse it.

The analysis finds each example's k nearest other examples (`AnalysisContext.neighbours`); an
export then needs every held-out input that is a near-duplicate of a train input, which would
otherwise be an exhaustive search of every held-out vector against every train vector. The graph
file holds, per example: its id, its k neighbours' ids and similarities, and the identity of the
stored vector the analysis used, so that the export can tell which examples still have that vector
(`fresh`) without reading any vector, and search only the others exhaustively. `app/exports/leakage.py`
explains why that is exact.

A stored vector's identity is its `embeddings` row: the row's id and the sha256 `text_hash` of the
text embedded. `embed_missing` only ever replaces a row (delete, then insert: a new id, on SQLite
possibly a reused one) when the text hash changes, so the pair names one vector. The graph also
keeps whether that vector had unit length (the analysis's inner products were cosines only then).
"""

import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GRAPH_FILE = "neighbour_graph.npz"
# 2: vector identities (row id, text hash) instead of fingerprints of the vectors. A file of another
# version is no graph: the export then searches exhaustively, and the next analysis rewrites it.
GRAPH_FORMAT = 2
HASH_WIDTH = 64  # a sha256 in hex; stored as fixed-width ASCII bytes (numpy "S64")
NO_VECTOR = -1   # embedding_ids value of an example the analysis had no vector for
NORM_TOLERANCE = 1e-4  # float32 unit vectors are within ~1e-7 of length 1


@dataclass
class NeighbourGraph:
    model: str
    ids: np.ndarray            # (n,) int64 example ids
    neighbours: np.ndarray     # (n, k) int64 example ids of the k nearest others, best first; -1 = none
    similarities: np.ndarray   # (n, k) float32 cosine similarities of those; -inf = none
    embedding_ids: np.ndarray  # (n,) int64 id of the embeddings row the analysis used; NO_VECTOR = none
    text_hashes: np.ndarray    # (n,) S64 that row's text_hash
    unit_length: np.ndarray    # (n,) bool: that vector had length 1 (within NORM_TOLERANCE)

    @property
    def k(self) -> int:
        return int(self.neighbours.shape[1])


def as_hashes(text_hashes) -> np.ndarray:
    """Text hashes (str or bytes) as a fixed-width bytes array, the form the graph keeps and compares."""
    return np.asarray(text_hashes, dtype=f"S{HASH_WIDTH}").reshape(-1)


def unit_lengths(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        return np.zeros(len(vectors), dtype=bool)
    return np.abs(np.sqrt(np.einsum("ij,ij->i", vectors, vectors)) - 1) <= NORM_TOLERANCE


def build(model: str, ids: np.ndarray, vectors: np.ndarray, similarities: np.ndarray, rows: np.ndarray,
          embedding_ids: np.ndarray, text_hashes) -> NeighbourGraph:
    """The graph of `knn(vectors, k)`'s answer (similarities, row indices), rows aligned with ids; the
    vectors' identities (`embedding_ids`, NO_VECTOR for a zero row, and `text_hashes`) aligned too."""
    ids = np.asarray(ids, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    neighbours = np.where(rows >= 0, ids[np.clip(rows, 0, None)], -1)
    embedding_ids = np.asarray(embedding_ids, dtype=np.int64).reshape(-1)
    return NeighbourGraph(model=model, ids=ids, neighbours=neighbours.astype(np.int64),
                          similarities=np.asarray(similarities, dtype=np.float32), embedding_ids=embedding_ids,
                          text_hashes=as_hashes(text_hashes),
                          unit_length=unit_lengths(vectors) & (embedding_ids != NO_VECTOR))


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
            np.savez(out, format=np.array(GRAPH_FORMAT), model=np.array(graph.model), ids=graph.ids,
                     neighbours=graph.neighbours, similarities=graph.similarities,
                     embedding_ids=graph.embedding_ids, text_hashes=graph.text_hashes,
                     unit_length=graph.unit_length)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def load(cache_dir: Path | None) -> NeighbourGraph | None:
    """The saved graph, or None if there is none, it cannot be read or it is of another format version
    (the caller then searches exhaustively)."""
    if cache_dir is None:
        return None
    try:
        with np.load(graph_path(cache_dir), allow_pickle=False) as saved:
            if int(saved["format"]) != GRAPH_FORMAT:
                return None
            graph = NeighbourGraph(model=str(saved["model"]), ids=saved["ids"].astype(np.int64, copy=False),
                                   neighbours=saved["neighbours"].astype(np.int64, copy=False),
                                   similarities=saved["similarities"].astype(np.float32, copy=False),
                                   embedding_ids=saved["embedding_ids"].astype(np.int64, copy=False),
                                   text_hashes=as_hashes(saved["text_hashes"]),
                                   unit_length=saved["unit_length"].astype(bool, copy=False))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):  # missing, truncated, old
        return None
    n = len(graph.ids)
    shapes_agree = (graph.neighbours.ndim == 2 and graph.neighbours.shape[0] == n
                    and graph.similarities.shape == graph.neighbours.shape
                    and graph.embedding_ids.shape == graph.text_hashes.shape == graph.unit_length.shape == (n,))
    return graph if shapes_agree else None
