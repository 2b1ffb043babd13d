"""Neighbours after a few inputs changed: update the last analysis's graph instead of searching everything again.

Above the exact-search size the analysis keeps its HNSW index in the dataset's cache folder, with the
identity (example id, embeddings row id, text hash) of the vector behind each entry. The next analysis,
if at most `MAX_CHANGED_SHARE` of the examples have another vector (edited, new) or are gone:
- adds the changed examples' vectors to the saved index (old entries of an edited example stay in the
  graph but are ignored: their identity no longer matches) and searches only those examples;
- keeps every other example's saved neighbour list, with the similarity to a changed neighbour
  recomputed from the current vectors and a deleted neighbour dropped;
- merges each changed example into the lists of the examples it found (the reverse edges), so a
  new near-copy is seen from both sides.
The result is approximate in the same way as the HNSW search itself (benchmarks/README.md has the
recall). Below the exact-search size nothing is kept: a full exact search is cheap there.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.embeddings import index as knn_index
from app.embeddings.neighbour_graph import NeighbourGraph, as_hashes

INDEX_FILE = "hnsw.faiss"
ENTRIES_FILE = "hnsw_entries.npz"
MAX_CHANGED_SHARE = 0.05


@dataclass
class SavedIndex:
    index: object               # faiss IndexHNSWFlat
    example_ids: np.ndarray     # (entries,) int64 example id behind each entry
    embedding_ids: np.ndarray   # (entries,) int64 its embeddings row id
    text_hashes: np.ndarray     # (entries,) S64 its text hash


def save(cache_dir: Path, saved: SavedIndex) -> None:
    """Write the index and its entries' identities (each via a temporary file and a rename)."""
    import faiss

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{INDEX_FILE}.partial"
    faiss.write_index(saved.index, str(partial))
    partial.replace(cache_dir / INDEX_FILE)
    partial = cache_dir / f".{ENTRIES_FILE}.partial"
    with open(partial, "wb") as handle:
        np.savez(handle, example_ids=saved.example_ids, embedding_ids=saved.embedding_ids,
                 text_hashes=saved.text_hashes)
    partial.replace(cache_dir / ENTRIES_FILE)


def load(cache_dir: Path | None) -> SavedIndex | None:
    if cache_dir is None or not (cache_dir / INDEX_FILE).exists():
        return None
    import faiss

    try:
        with np.load(cache_dir / ENTRIES_FILE, allow_pickle=False) as entries:
            saved = SavedIndex(faiss.read_index(str(cache_dir / INDEX_FILE)),
                               entries["example_ids"].astype(np.int64), entries["embedding_ids"].astype(np.int64),
                               as_hashes(entries["text_hashes"]))
    except (OSError, ValueError, KeyError, RuntimeError):
        return None
    return saved if saved.index.ntotal == len(saved.example_ids) else None


def forget(cache_dir: Path | None) -> None:
    if cache_dir is not None:
        for name in (INDEX_FILE, ENTRIES_FILE):
            (cache_dir / name).unlink(missing_ok=True)


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each wanted id in the sorted unique `ids`, -1 if absent."""
    if not len(ids):
        return np.full(len(wanted), -1, dtype=np.int64)
    at = np.clip(np.searchsorted(ids, wanted), 0, len(ids) - 1)
    return np.where(ids[at] == wanted, at, -1)


def update(graph: NeighbourGraph | None, saved: SavedIndex | None, model: str, ids: np.ndarray,
           vectors: np.ndarray, embedding_ids: np.ndarray, text_hashes: np.ndarray, k: int,
           progress: Callable[[str, int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(similarities, rows) as `knn` gives them, from the saved graph and index, or None when too much
    changed (or nothing usable is saved). `ids` sorted; the identities aligned with them. Extends `saved`."""
    if graph is None or saved is None or graph.model != model or graph.k < k:
        return None
    n = len(ids)
    text_hashes = as_hashes(text_hashes)
    # Fresh: the graph has the example with the same vector (row id and text hash) as now.
    graph_row = _rows_of(graph.ids, ids) if np.all(np.diff(graph.ids) > 0) else None
    if graph_row is None:
        return None
    known = graph_row >= 0
    fresh = known.copy()
    fresh[known] = ((graph.embedding_ids[graph_row[known]] == embedding_ids[known])
                    & (graph.text_hashes[graph_row[known]] == text_hashes[known]) & graph.unit_length[graph_row[known]])
    changed = np.flatnonzero(~fresh)
    gone = len(graph.ids) - int(known.sum())
    if len(changed) + gone > MAX_CHANGED_SHARE * max(n, 1):
        return None

    # Neighbour lists of the graph, in current rows; a neighbour that is gone becomes -1.
    sims = np.full((n, k), -np.inf, dtype=np.float32)
    rows = np.full((n, k), -1, dtype=np.int64)
    old_rows = _rows_of(ids, graph.neighbours[graph_row[fresh], :k].ravel()).reshape(-1, k)
    old_rows[graph.neighbours[graph_row[fresh], :k] < 0] = -1
    sims[fresh] = np.where(old_rows >= 0, graph.similarities[graph_row[fresh], :k], -np.inf)
    rows[fresh] = old_rows

    # The changed examples: into the saved index, then searched (extra hits make up for stale entries).
    entry_row = _rows_of(ids, saved.example_ids)
    valid = entry_row >= 0
    valid[valid] = ((saved.embedding_ids[valid] == embedding_ids[entry_row[valid]])
                    & (saved.text_hashes[valid] == text_hashes[entry_row[valid]]))
    entry_row = np.where(valid, entry_row, -1)
    if len(changed):
        saved.index.add(np.ascontiguousarray(vectors[changed], dtype=np.float32))
        saved.example_ids = np.concatenate([saved.example_ids, ids[changed]])
        saved.embedding_ids = np.concatenate([saved.embedding_ids, embedding_ids[changed]])
        saved.text_hashes = np.concatenate([saved.text_hashes, text_hashes[changed]])
        entry_row = np.concatenate([entry_row, changed])
        found_sims, found = knn_index.search(saved.index, vectors[changed], 2 * k + 1)
        found_rows = np.where(found >= 0, entry_row[np.clip(found, 0, None)], -1)
        found_rows[found_rows == changed[:, None]] = -1
        if progress:
            progress("neighbour update", len(changed), len(changed))
        edges_from = np.repeat(changed, found_rows.shape[1])
        edges_to, edges_sim = found_rows.ravel(), found_sims.ravel()
        keep = edges_to >= 0
        edges_from, edges_to, edges_sim = edges_from[keep], edges_to[keep], edges_sim[keep]
        is_changed = np.zeros(n, dtype=bool)
        is_changed[changed] = True
        # Fresh rows' entries pointing at a changed row: its similarity now, from the vectors.
        stale = (rows >= 0) & is_changed[np.clip(rows, 0, None)] & fresh[:, None]
        stale_from, stale_slot = np.nonzero(stale)
        stale_to = rows[stale_from, stale_slot]
        rows[stale_from, stale_slot], sims[stale_from, stale_slot] = -1, -np.inf
        stale_sim = np.einsum("ij,ij->i", vectors[stale_from], vectors[stale_to]).astype(np.float32)
        # Candidates per affected row: its own search (changed rows), the reverse edges and the stale ones.
        cand_from = np.concatenate([edges_from, edges_to, stale_from])
        cand_to = np.concatenate([edges_to, edges_from, stale_to])
        cand_sim = np.concatenate([edges_sim, edges_sim, stale_sim])
        affected = np.unique(cand_from)
        slot_from = np.repeat(affected, k)
        slot_to, slot_sim = rows[affected].ravel(), sims[affected].ravel()
        present = slot_to >= 0
        all_from = np.concatenate([cand_from, slot_from[present]])
        all_to = np.concatenate([cand_to, slot_to[present]])
        all_sim = np.concatenate([cand_sim, slot_sim[present]])
        order = np.lexsort((-all_sim, all_to, all_from))  # per (from, to): the best similarity first
        all_from, all_to, all_sim = all_from[order], all_to[order], all_sim[order]
        first = np.ones(len(all_from), dtype=bool)
        first[1:] = (all_from[1:] != all_from[:-1]) | (all_to[1:] != all_to[:-1])
        all_from, all_to, all_sim = all_from[first], all_to[first], all_sim[first]
        order = np.lexsort((-all_sim, all_from))
        all_from, all_to, all_sim = all_from[order], all_to[order], all_sim[order]
        start = np.searchsorted(all_from, all_from, side="left")
        rank = np.arange(len(all_from)) - start
        top = rank < k
        rows[affected] = -1
        sims[affected] = -np.inf
        rows[all_from[top], rank[top]] = all_to[top]
        sims[all_from[top], rank[top]] = np.clip(all_sim[top], -1.0, 1.0)
    return sims, rows
