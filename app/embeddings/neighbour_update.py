"""Neighbours after a few inputs changed: update the last analysis's graph instead of searching everything again.

Above the exact-search size the analysis keeps its HNSW index in the dataset's cache folder, with the
identity (example id, embeddings row id, text hash) of the vector behind each entry: its graph over
8-bit copies of the vectors (`compact`: a quarter of the memory, 0.55 GB instead of 1.3 GB at
1,000,000 pairs). It is written once, when it is built, and never changed after: adding to a loaded
faiss index reallocates its vector storage, a second copy of every vector for a moment. The next
analysis, if at most `MAX_CHANGED_SHARE` of the examples have another vector than in the last graph
(edited, new) or are gone, and at most that share are not in the index as they are now:
- searches only the changed examples: in the saved index (an entry whose identity no longer matches
  is ignored) and, exactly, among the examples the index does not hold as they are now (edited or
  added since it was built);
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
# The update searches a few examples, so it can afford a wider beam than the full search: at 1,000,000
# pairs it finds 99.35% of the close pairs the index holds instead of 99.01% (benchmarks/README.md).
UPDATE_EF_SEARCH = 192


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


def compact(built, vectors: np.ndarray):
    """The saved form of a freshly built HNSW index: the same graph over 8-bit vectors (faiss
    `IndexHNSWSQ`), a quarter of the memory and disk of its float copy. It only proposes candidates:
    `update` computes their similarities again from the full vectors."""
    import faiss

    small = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, knn_index.HNSW_M,
                              faiss.METRIC_INNER_PRODUCT)
    small.hnsw = built.hnsw  # a copy of the graph; the search settings come with it
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    small.storage.train(vectors)  # each dimension's range (min and max over all vectors)
    small.storage.add(vectors)
    small.ntotal = small.storage.ntotal
    small.is_trained = True
    return small


def similarities(vectors: np.ndarray, rows_from: np.ndarray, rows_to: np.ndarray, batch: int = 65_536) -> np.ndarray:
    """Cosine similarity of each pair (vectors[rows_from[i]], vectors[rows_to[i]]), a batch of pairs at a time."""
    out = np.empty(len(rows_from), dtype=np.float32)
    for start in range(0, len(rows_from), batch):
        pair = slice(start, start + batch)
        out[pair] = np.einsum("ij,ij->i", vectors[rows_from[pair]], vectors[rows_to[pair]])
    return out


def _exact_among(vectors: np.ndarray, rows: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k most similar of vectors[rows], by exact search: (similarities, rows)."""
    if not len(rows):
        return np.zeros((len(queries), 0), dtype=np.float32), np.zeros((len(queries), 0), dtype=np.int64)
    exact = knn_index.build_index(np.ascontiguousarray(vectors[rows], dtype=np.float32), exact_max_rows=len(rows))
    sims, found = knn_index.search(exact, queries, min(k, len(rows)))
    return sims, np.where(found >= 0, rows[np.clip(found, 0, None)], -1)


def update(graph: NeighbourGraph | None, saved: SavedIndex | None, model: str, ids: np.ndarray,
           vectors: np.ndarray, embedding_ids: np.ndarray, text_hashes: np.ndarray, k: int,
           progress: Callable[[str, int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(similarities, rows) as `knn` gives them, from the saved graph and index, or None when too much
    changed (or nothing usable is saved). `ids` sorted; the identities aligned with them. `saved` is
    only read."""
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
    old_neighbours = graph.neighbours[graph_row[fresh], :k]
    old_rows = _rows_of(ids, old_neighbours.ravel()).reshape(-1, k)
    old_rows[old_neighbours < 0] = -1
    del old_neighbours
    sims[fresh] = np.where(old_rows >= 0, graph.similarities[graph_row[fresh], :k], -np.inf)
    rows[fresh] = old_rows

    # Each index entry's current row, -1 where its example is gone or has another vector now.
    entry_row = _rows_of(ids, saved.example_ids)
    valid = entry_row >= 0
    valid[valid] = ((saved.embedding_ids[valid] == embedding_ids[entry_row[valid]])
                    & (saved.text_hashes[valid] == text_hashes[entry_row[valid]]))
    entry_row = np.where(valid, entry_row, -1)
    indexed = np.zeros(n, dtype=bool)
    indexed[entry_row[valid]] = True
    unindexed = np.flatnonzero(~indexed)
    if len(unindexed) > MAX_CHANGED_SHARE * max(n, 1):  # the index has aged: build it again
        return None
    if len(changed):
        # Extra hits from the index make up for its stale entries.
        saved.index.hnsw.efSearch = max(saved.index.hnsw.efSearch, UPDATE_EF_SEARCH)
        _, found = knn_index.search(saved.index, vectors[changed], 2 * k + 1)
        index_rows = np.where(found >= 0, entry_row[np.clip(found, 0, None)], -1)
        index_sims = np.full(index_rows.shape, -np.inf, dtype=np.float32)
        hit_from, hit_slot = np.nonzero(index_rows >= 0)  # the index's similarities are 8-bit: computed again
        index_sims[hit_from, hit_slot] = similarities(vectors, changed[hit_from], index_rows[hit_from, hit_slot])
        exact_sims, exact_rows = _exact_among(vectors, unindexed, vectors[changed], k + 1)
        found_sims = np.concatenate([index_sims, exact_sims], axis=1)
        found_rows = np.concatenate([index_rows, exact_rows], axis=1)
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
        stale_sim = similarities(vectors, stale_from, stale_to)
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
