"""After splitting: does any validation or test input repeat a train input, exactly or nearly?

Exact = same normalised-input hash (`Example.input_hash`). Near = cosine similarity of the stored
embeddings >= the near-duplicate threshold; for each held-out input the check finds its nearest
train input, exactly (the same answer as searching every held-out vector against every train
vector), but without that search where the analysis's neighbour graph already answers.

Why the graph answers exactly. Call an example *fresh* if the graph has it and its stored vector is still
the one the analysis used (the same embeddings row: row id and text hash; and of unit length, so that the
analysis's inner products were cosines), and *saturated* if its k-th stored neighbour is at
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

Freshness needs only each item's row identity, never its vector: vectors are loaded only for the
graph's candidate pairs and for the searches there is something to do in (`StoredVectors`).
"""

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from app.embeddings.neighbour_graph import NO_VECTOR, NeighbourGraph, as_hashes
from app.exports.base import pick, row_positions
from app.exports.splits import SPLIT_NAMES

MAX_LISTED = 20
TRAIN = SPLIT_NAMES.index("train")
HELD_OUT = ("validation", "test")
# Stored similarities (raw vectors) and recomputed ones (normalised again) differ by float rounding,
# ~1e-7; a wider margin only makes a few more items candidates or saturated, never misses a pair.
MARGIN = 1e-3


class VectorsChanged(Exception):
    """A vector was replaced between reading the identities and reading the vector itself: the caller
    reads identities and vectors again, in one statement (`StoredVectors.in_memory`)."""


def content_identities(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(embedding ids, text hashes) standing for the identities of vectors held in memory rather than
    read from the embeddings table: the sha256 of each vector's bytes; an all-zero row is no vector."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    present = vectors.any(axis=1) if vectors.ndim == 2 else np.zeros(len(vectors), dtype=bool)
    hashes = [hashlib.sha256(row.tobytes()).hexdigest() if has else "" for row, has in zip(vectors, present)]
    return np.where(present, 0, NO_VECTOR).astype(np.int64), as_hashes(hashes)


class StoredVectors:
    """The items' stored vectors. Per item, the identity of its embeddings row (row id, text hash) is read
    for every item, which is cheap; the vectors themselves are loaded only for the items a graph edge or
    an exhaustive search needs (`load(positions)`: raw float32 rows), once, and kept unit-normalised."""

    def __init__(self, embedding_ids: np.ndarray, text_hashes, load: Callable[[np.ndarray], np.ndarray]) -> None:
        self.embedding_ids = np.asarray(embedding_ids, dtype=np.int64)
        self.text_hashes = as_hashes(text_hashes)
        self.present = self.embedding_ids != NO_VECTOR
        self.loads = 0  # how many items' vectors were loaded (the manifest does not say; tests and tools do)
        self._load = load
        self._loaded = np.zeros(len(self.embedding_ids), dtype=bool)
        self._units: np.ndarray | None = None

    @classmethod
    def in_memory(cls, vectors: np.ndarray, row_of: np.ndarray, embedding_ids: np.ndarray | None = None,
                  text_hashes=None) -> "StoredVectors":
        """Vectors already read: item i's is row `row_of[i]` of `vectors` (-1: none). Without identities,
        `content_identities` of the vectors stand for them."""
        vectors = np.asarray(vectors, dtype=np.float32)
        row_of = np.asarray(row_of, dtype=np.int64)
        if embedding_ids is None:
            embedding_ids, text_hashes = content_identities(vectors)
        # One "no vector" identity appended, which row -1 picks.
        embedding_ids = np.append(np.asarray(embedding_ids, dtype=np.int64), NO_VECTOR)
        text_hashes = np.append(as_hashes(text_hashes), as_hashes([""]))
        return cls(embedding_ids[row_of], text_hashes[row_of], lambda positions: vectors[row_of[positions]])

    def __len__(self) -> int:
        return len(self.embedding_ids)

    def unit(self, positions: np.ndarray) -> np.ndarray:
        """The unit-normalised vectors of these item positions (a zero vector stays zero)."""
        missing = positions[~self._loaded[positions]]
        if len(missing):
            missing = np.unique(missing)
            rows = np.asarray(self._load(missing), dtype=np.float32)
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            if self._units is None:  # pages of rows never loaded are never touched
                self._units = np.empty((len(self), rows.shape[1]), dtype=np.float32)
            self._units[missing] = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)
            self._loaded[missing] = True
            self.loads += len(missing)
        if self._units is None:
            return np.zeros((0, 0), dtype=np.float32)
        return self._units[positions]


class NearSearch:
    """The stored vectors of the items being split, and what the neighbour graph tells about them,
    prepared once per export; `nearest_train` answers for one split assignment."""

    def __init__(self, ids: Sequence[int], model: str, vectors: StoredVectors, threshold: float,
                 graph: NeighbourGraph | None = None) -> None:
        self.model, self.threshold, self.vectors = model, threshold, vectors
        self.has_vector = vectors.present
        n = len(vectors)
        self.fresh = np.zeros(n, dtype=bool)
        self.saturated = np.zeros(n, dtype=bool)
        self.edges = np.zeros((0, 2), dtype=np.int64)  # (item, neighbour) positions, both fresh, maybe similar
        self.uses_graph = graph is not None and graph.model == model and n > 0
        if self.uses_graph:
            self._read_graph(np.asarray(ids, dtype=np.int64), graph)

    def _read_graph(self, ids: np.ndarray, graph: NeighbourGraph) -> None:
        in_graph = row_positions(graph.ids, ids)
        known = np.nonzero(self.has_vector & (in_graph >= 0))[0]
        rows = in_graph[known]
        # The same embeddings row as the analysis used, so the same vector; and of unit length, since the
        # analysis ranked neighbours by inner product, the cosine only for unit vectors (which every
        # embedder stores): a vector of another length is searched, never read from the graph.
        same = ((graph.embedding_ids[rows] == self.vectors.embedding_ids[known])
                & (graph.text_hashes[rows] == self.vectors.text_hashes[known]) & graph.unit_length[rows])
        fresh = known[same]
        self.fresh[fresh] = True
        rows = in_graph[fresh]
        sims = graph.similarities[rows]
        kth = sims[:, -1] if graph.k else np.full(len(rows), np.inf, dtype=np.float32)
        self.saturated[fresh] = kth >= self.threshold - MARGIN
        # Only neighbours that may reach the threshold are candidates: usually a small share of the graph.
        close = (graph.neighbours[rows] >= 0) & (sims >= self.threshold - MARGIN)
        items = np.repeat(fresh, graph.k)[close.ravel()]
        neighbours = row_positions(ids, graph.neighbours[rows][close])
        keep = neighbours >= 0
        keep[keep] = self.fresh[neighbours[keep]]
        self.edges = np.stack([items[keep], neighbours[keep]], axis=1)

    def nearest_train(self, split_codes: np.ndarray) -> tuple[dict[str, list[tuple[int, int, float]]], int]:
        """Per held-out split, each item whose nearest train item is at or above the threshold:
        (held-out position, train position, similarity), by position; and how many items were
        searched exhaustively (against a whole split) rather than read from the graph. Vectors are
        loaded only for the graph's candidate pairs and for the searches there is something to do in."""
        train = self.has_vector & (split_codes == TRAIN)
        held = self.has_vector & (split_codes != TRAIN)
        best = np.full(len(split_codes), -np.inf, dtype=np.float32)
        partner = np.full(len(split_codes), -1, dtype=np.int64)
        source, target = self.edges[:, 0], self.edges[:, 1]
        forward, backward = held[source] & train[target], train[source] & held[target]
        asking = np.concatenate([source[forward], target[backward]])
        answering = np.concatenate([target[forward], source[backward]])
        if len(asking):
            sims = np.einsum("ij,ij->i", self.vectors.unit(asking), self.vectors.unit(answering))
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

        candidate_vectors = np.ascontiguousarray(self.vectors.unit(candidates))
        index = faiss.IndexFlatIP(candidate_vectors.shape[1])
        index.add(candidate_vectors)
        sims, nearest = index.search(np.ascontiguousarray(self.vectors.unit(queries)), 1)
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
