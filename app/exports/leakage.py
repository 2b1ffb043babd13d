"""After splitting: does any validation or test input repeat a train input, exactly or nearly?

Exact = same normalised-input hash (`Example.input_hash`). Near = cosine similarity of the stored
embeddings >= the near-duplicate threshold; for each held-out input the check finds its nearest
train input, exactly (the same answer as searching every held-out vector against every train
vector), but without that search where the analysis's neighbour graph already answers.

Why the graph answers exactly. Call an example *fresh* if the graph has it and its vector is still
the one the analysis used (same fingerprint, unit length, so that the analysis's inner products were
cosines), and *saturated* if its k-th stored neighbour is at
least the threshold. For fresh a (held out) and fresh b (train) with cos(a, b) >= t:
- if b is not among a's k stored neighbours, all k of them were at least cos(a, b) >= t, so a is
  saturated; likewise for a among b's neighbours. So the pair is an edge of the graph (read from
  either side) unless BOTH are saturated, and saturated held-out items are searched against
  saturated train items exhaustively;
- pairs with a non-fresh side (edited since the analysis, imported after it, or no graph at all)
  are searched exhaustively: non-fresh held-out items against all train items, and every other
  held-out item against the non-fresh train items.
Every candidate's similarity is recomputed from the current vectors, so the stored similarities
only choose candidates (with a margin for float rounding). Without a usable graph nothing is
fresh, and the check is the plain exhaustive search.
"""

from collections.abc import Sequence

import numpy as np

from app.embeddings import neighbour_graph
from app.embeddings.neighbour_graph import NeighbourGraph
from app.exports.base import pick, positions_of
from app.exports.splits import SPLIT_NAMES

MAX_LISTED = 20
TRAIN = SPLIT_NAMES.index("train")
HELD_OUT = ("validation", "test")
# Stored similarities (raw vectors) and recomputed ones (normalised again) differ by float rounding,
# ~1e-7; a wider margin only makes a few more items candidates or saturated, never misses a pair.
MARGIN = 1e-3
NORM_TOLERANCE = 1e-4  # float32 unit vectors are within ~1e-7 of length 1


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row in `ids` (any order, unique) of each wanted id, -1 if absent."""
    order = np.argsort(ids, kind="stable")
    at = positions_of(ids[order], wanted, keep_missing=True)
    return np.where(at >= 0, order[np.clip(at, 0, None)], -1) if len(order) else at


class StoredVectors:
    """Vectors as the database returned them (one bytes object each, float32), made into arrays only
    where needed: joining 50,000 of them into one matrix costs more than the whole graph-based check.
    Tests may hand over an array instead."""

    CHUNK = 2048

    def __init__(self, blobs: Sequence[bytes] | np.ndarray, dim: int | None = None) -> None:
        self._array = blobs if isinstance(blobs, np.ndarray) else None
        self._blobs = blobs
        self.dim = int(self._array.shape[1] if self._array is not None else dim)

    def __len__(self) -> int:
        return len(self._blobs)

    def take(self, rows: np.ndarray) -> np.ndarray:
        if self._array is not None:
            return np.asarray(self._array[rows], dtype=np.float32)
        joined = b"".join([self._blobs[r] for r in rows.tolist()])
        return np.frombuffer(joined, dtype=np.float32).reshape(len(rows), self.dim)

    def fingerprints(self) -> tuple[np.ndarray, np.ndarray]:
        """Each vector's fingerprint (`neighbour_graph.fingerprints`) and its L2 norm."""
        if self._array is not None:
            return neighbour_graph.fingerprints(self._array), np.linalg.norm(self._array, axis=1)
        found = np.empty((len(self), neighbour_graph.FINGERPRINT_WIDTH), dtype=np.float32)
        norms = np.empty(len(self), dtype=np.float32)
        for start in range(0, len(self), self.CHUNK):  # a chunk at a time: no 75 MB matrix for 50,000 vectors
            chunk = self.take(np.arange(start, min(start + self.CHUNK, len(self))))
            found[start:start + len(chunk)] = neighbour_graph.fingerprints(chunk)
            norms[start:start + len(chunk)] = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
        return found, norms


class NearSearch:
    """The stored vectors of the items being split, and what the neighbour graph tells about them,
    prepared once per export; `nearest_train` answers for one split assignment."""

    def __init__(self, ids: Sequence[int], model: str, vectors: StoredVectors | np.ndarray, row_of: np.ndarray,
                 threshold: float, graph: NeighbourGraph | None = None) -> None:
        """`vectors`: the stored vectors (raw, float32), `row_of`: each item's row in them or -1."""
        self.model, self.threshold = model, threshold
        self.vectors = vectors if isinstance(vectors, StoredVectors) else StoredVectors(vectors)
        self.row_of = np.asarray(row_of, dtype=np.int64)
        self.has_vector = self.row_of >= 0
        n = len(self.row_of)
        self.fresh = np.zeros(n, dtype=bool)
        self.saturated = np.zeros(n, dtype=bool)
        self.edges = np.zeros((0, 2), dtype=np.int64)  # (item, neighbour) positions, both fresh, maybe similar
        self.uses_graph = graph is not None and graph.model == model and n > 0
        if self.uses_graph:
            self._read_graph(np.asarray(ids, dtype=np.int64), graph)

    def _read_graph(self, ids: np.ndarray, graph: NeighbourGraph) -> None:
        in_graph = _rows_of(graph.ids, ids)
        known = np.nonzero(self.has_vector & (in_graph >= 0))[0]
        current, norms = self.vectors.fingerprints()
        # The analysis ranked neighbours by inner product: the cosine only for unit vectors (which every
        # embedder stores); a vector of another length is searched, never read from the graph.
        unit_length = np.abs(norms[self.row_of[known]] - 1) <= NORM_TOLERANCE
        same = neighbour_graph.same_vectors(graph.fingerprints[in_graph[known]], current[self.row_of[known]])
        fresh = known[same & unit_length]
        self.fresh[fresh] = True
        rows = in_graph[fresh]
        sims = graph.similarities[rows]
        kth = sims[:, -1] if graph.k else np.full(len(rows), np.inf, dtype=np.float32)
        self.saturated[fresh] = kth >= self.threshold - MARGIN
        # Only neighbours that may reach the threshold are candidates: usually a small share of the graph.
        close = (graph.neighbours[rows] >= 0) & (sims >= self.threshold - MARGIN)
        items = np.repeat(fresh, graph.k)[close.ravel()]
        neighbours = _rows_of(ids, graph.neighbours[rows][close])
        keep = neighbours >= 0
        keep[keep] = self.fresh[neighbours[keep]]
        self.edges = np.stack([items[keep], neighbours[keep]], axis=1)

    def _unit(self, positions: np.ndarray) -> np.ndarray:
        rows = self.vectors.take(self.row_of[positions])
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)

    def nearest_train(self, split_codes: np.ndarray) -> tuple[dict[str, list[tuple[int, int, float]]], int]:
        """Per held-out split, each item whose nearest train item is at or above the threshold:
        (held-out position, train position, similarity), by position; and how many items were
        searched exhaustively (against a whole split) rather than read from the graph."""
        train = self.has_vector & (split_codes == TRAIN)
        held = self.has_vector & (split_codes != TRAIN)
        best = np.full(len(split_codes), -np.inf, dtype=np.float32)
        partner = np.full(len(split_codes), -1, dtype=np.int64)
        source, target = self.edges[:, 0], self.edges[:, 1]
        forward, backward = held[source] & train[target], train[source] & held[target]
        asking = np.concatenate([source[forward], target[backward]])
        answering = np.concatenate([target[forward], source[backward]])
        if len(asking):
            sims = np.einsum("ij,ij->i", self._unit(asking), self._unit(answering))
            _keep_best(best, partner, asking, answering, sims)
        stale = self.has_vector & ~self.fresh
        # (queries, candidates, the items searched for rather than read from the graph)
        searches = [(held & self.saturated, train & self.saturated, held & self.saturated),
                    (held & stale, train, held & stale), (held & self.fresh, train & stale, train & stale)]
        searched = 0
        for queries, candidates, counted in searches:
            if self._search(np.nonzero(queries)[0], np.nonzero(candidates)[0], best, partner):
                searched += int(counted.sum())
        found = {}
        for split in HELD_OUT:
            leaking = np.nonzero((split_codes == SPLIT_NAMES.index(split)) & (best >= self.threshold))[0]
            found[split] = [(int(i), int(partner[i]), float(best[i])) for i in leaking]
        return found, searched

    def _search(self, queries: np.ndarray, candidates: np.ndarray, best: np.ndarray, partner: np.ndarray) -> bool:
        """Each query's nearest candidate by an exhaustive (exact) inner-product search; False if none to do."""
        if not len(queries) or not len(candidates):
            return False
        import faiss

        index = faiss.IndexFlatIP(self.vectors.dim)
        index.add(np.ascontiguousarray(self._unit(candidates)))
        sims, nearest = index.search(np.ascontiguousarray(self._unit(queries)), 1)
        _keep_best(best, partner, queries, candidates[nearest[:, 0]], sims[:, 0])
        return True


def _keep_best(best: np.ndarray, partner: np.ndarray, asking: np.ndarray, answering: np.ndarray,
               sims: np.ndarray) -> None:
    """For each asking item, keep the most similar answering item seen so far."""
    order = np.lexsort((-sims, asking))  # by item, most similar first
    asking, answering, sims = asking[order], answering[order], sims[order]
    first = np.ones(len(asking), dtype=bool)
    first[1:] = asking[1:] != asking[:-1]
    asking, answering, sims = asking[first], answering[first], sims[first]
    better = sims > best[asking]
    best[asking[better]] = sims[better]
    partner[asking[better]] = answering[better]


def check_leakage(split_codes: np.ndarray, ids: Sequence[int], input_hashes: Sequence[str],
                  near_search: NearSearch | None, threshold: float) -> tuple[dict, list[tuple[int, int]]]:
    """The leakage section of the manifest (`passed` is False if any held-out input repeats a train
    input) and every leaking (held-out position, train position) pair. `split_codes`: each item's
    split as an index into SPLIT_NAMES."""
    train = np.nonzero(split_codes == TRAIN)[0].tolist()
    held_out = {s: np.nonzero(split_codes == SPLIT_NAMES.index(s))[0].tolist() for s in HELD_OUT}
    # The first train position of each input hash (reversed, so that the first one is written last).
    train_hashes = dict(zip(pick(input_hashes, train[::-1]), train[::-1]))
    violations: list[dict] = []
    pairs: list[tuple[int, int]] = []
    exact = {}
    for split, positions in held_out.items():
        hits = [(i, train_hashes[h]) for i, h in zip(positions, pick(input_hashes, positions)) if h in train_hashes]
        exact[split] = len(hits)
        pairs += hits
        violations += [{"kind": "exact", "split": split, "example_id": ids[i], "train_example_id": ids[j],
                        "similarity": 1.0} for i, j in hits[:MAX_LISTED]]
    near: dict[str, int] | None = None
    searched = None
    if near_search is not None:
        found, searched = near_search.nearest_train(split_codes)
        near = {split: len(found[split]) for split in HELD_OUT}
        for split in HELD_OUT:
            pairs += [(i, j) for i, j, _ in found[split]]
            violations += [{"kind": "near", "split": split, "example_id": ids[i], "train_example_id": ids[j],
                            "similarity": round(min(sim, 1.0), 4)} for i, j, sim in found[split][:MAX_LISTED]]
    passed = not any(exact.values()) and not any((near or {}).values())
    return {
        "passed": passed,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "near_duplicate_threshold": threshold,
        "embedding_model": near_search.model if near_search else None,
        "near_check": "done" if near is not None else "skipped: no stored embeddings (run the analysis)",
        "near_method": None if near_search is None else (
            "the analysis's neighbour graph, exhaustive search where it cannot answer" if near_search.uses_graph
            else "exhaustive search (no neighbour graph of the analysis for these vectors)"),
        "near_searched_exhaustively": searched,
        "examples_without_embedding": int((~near_search.has_vector).sum()) if near_search else None,
        "violations": violations[:MAX_LISTED],
    }, pairs
