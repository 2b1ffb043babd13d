"""Neighbours: exact below the size threshold, HNSW above it (forced tiny here), and the update of the last
analysis's graph after a small edit (`neighbour_update`), all against exact search on the same vectors."""

import numpy as np

from app.embeddings import index, neighbour_graph, neighbour_update


def clustered(n: int = 400, dim: int = 24, seed: int = 0) -> np.ndarray:
    """Unit vectors in tight pairs (near-duplicates) scattered at random."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 2, dim))
    vectors = np.repeat(centres, 2, axis=0) + rng.normal(scale=0.05, size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def close_pairs(sims: np.ndarray, rows: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    return {(i, int(rows[i, j])) for i, j in zip(*np.nonzero(sims >= threshold), strict=True)}


def test_the_switch_picks_hnsw_only_above_the_threshold():
    assert not index.uses_approximate_index(100, exact_max_rows=100)
    assert index.uses_approximate_index(101, exact_max_rows=100)
    assert type(index.build_index(clustered(50), exact_max_rows=10)).__name__ == "IndexHNSWFlat"
    assert type(index.build_index(clustered(50), exact_max_rows=50)).__name__ == "IndexFlatIP"


def test_hnsw_finds_the_close_pairs_that_exact_search_finds():
    vectors = clustered()
    exact = index.knn(vectors, 5, exact_max_rows=len(vectors))
    approximate = index.knn(vectors, 5, exact_max_rows=0)
    assert approximate[0].shape == approximate[1].shape == (len(vectors), 5)
    assert (approximate[1] != np.arange(len(vectors))[:, None]).all()  # never itself
    wanted = close_pairs(*exact, 0.9)
    assert len(wanted) >= len(vectors)  # each vector's twin at least
    assert len(wanted & close_pairs(*approximate, 0.9)) / len(wanted) >= 0.99
    assert (np.diff(approximate[0], axis=1) <= 1e-6).all()  # best first


def test_progress_names_index_and_search():
    seen = []
    index.knn(clustered(100), 3, exact_max_rows=0, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert ("index", 100, 100) in seen and ("neighbour search", 100, 100) in seen


def saved_state(vectors: np.ndarray, ids: np.ndarray, hashes: list[str], k: int):
    built = index.build_index(vectors, exact_max_rows=0)
    sims, rows = index.neighbours_in(built, vectors, k)
    embedding_ids = np.arange(len(ids)) + 1
    graph = neighbour_graph.build("m", ids, vectors, sims, rows, embedding_ids, hashes)
    return graph, neighbour_update.SavedIndex(neighbour_update.compact(built, vectors), ids.copy(), embedding_ids,
                                              neighbour_graph.as_hashes(hashes))


def test_the_saved_index_keeps_the_graph_over_8_bit_vectors():
    vectors = clustered(400, dim=64)
    built = index.build_index(vectors, exact_max_rows=0)
    kept = neighbour_update.compact(built, vectors)
    assert type(kept).__name__ == "IndexHNSWSQ" and kept.ntotal == built.ntotal
    assert kept.hnsw.efSearch == index.HNSW_EF_SEARCH
    _, from_float = built.search(vectors, 2)
    _, from_bytes = kept.search(vectors, 2)
    assert (from_float[:, 1] == from_bytes[:, 1]).mean() >= 0.95  # the same nearest other vector
    import faiss

    assert faiss.downcast_index(kept.storage).code_size == 64  # a byte per dimension, against 4
    assert faiss.downcast_index(built.storage).code_size == 4 * 64


def test_an_edit_updates_the_graph_without_searching_everything_again(tmp_path):
    vectors, k = clustered(), 5
    ids = np.arange(100, 100 + len(vectors))
    hashes = [f"{i:064x}" for i in range(len(vectors))]
    graph, saved = saved_state(vectors, ids, hashes, k)
    neighbour_update.save(tmp_path, saved)
    saved = neighbour_update.load(tmp_path)
    assert saved is not None and saved.index.ntotal == len(vectors)

    # Row 10 becomes a near-copy of row 300 (a new text: a new embeddings row and hash); row 11 is deleted.
    edited = vectors.copy()
    edited[10] = vectors[300] + 0.01
    edited[10] /= np.linalg.norm(edited[10])
    keep = np.arange(len(vectors)) != 11
    now_ids, now_vectors = ids[keep], edited[keep]
    embedding_ids = (np.arange(len(vectors)) + 1)[keep]
    embedding_ids[10] = 10_000
    now_hashes = neighbour_graph.as_hashes([h for h, kept in zip(hashes, keep, strict=True) if kept])
    now_hashes[10] = b"f" * 64
    sims, rows = neighbour_update.update(graph, saved, "m", now_ids, now_vectors, embedding_ids, now_hashes, k)

    exact = index.knn(now_vectors, k, exact_max_rows=len(now_vectors))
    wanted = close_pairs(*exact, 0.9)
    found = close_pairs(sims, rows, 0.9)
    assert len(wanted & found) / len(wanted) >= 0.99
    row_of_300 = int(np.flatnonzero(now_ids == 400)[0])
    assert row_of_300 in rows[10] and 10 in rows[row_of_300]  # the new near-copy, seen from both sides
    assert not (rows == 11 - 0).all()  # sanity: rows are current positions
    assert saved.index.ntotal == len(vectors)  # the saved index is only read: nothing added, nothing rebuilt

    # A second edit, against the graph of the first: row 20 becomes a near-copy of row 10, whose vector is
    # not in the index (it is found by the exact search among the unindexed rows).
    graph = neighbour_graph.build("m", now_ids, now_vectors, sims, rows, embedding_ids, now_hashes)
    again = now_vectors.copy()
    again[20] = now_vectors[10] + 0.01
    again[20] /= np.linalg.norm(again[20])
    again_ids, again_hashes = embedding_ids.copy(), now_hashes.copy()
    again_ids[20], again_hashes[20] = 10_001, b"e" * 64
    sims, rows = neighbour_update.update(graph, saved, "m", now_ids, again, again_ids, again_hashes, k)
    assert 10 in rows[20] and 20 in rows[10]
    exact = index.knn(again, k, exact_max_rows=len(again))
    wanted = close_pairs(*exact, 0.9)
    assert len(wanted & close_pairs(sims, rows, 0.9)) / len(wanted) >= 0.99


def test_too_many_changes_another_model_or_an_aged_index_mean_a_full_search():
    vectors, k = clustered(100), 3
    ids = np.arange(len(vectors))
    hashes = [f"{i:064x}" for i in range(len(vectors))]
    graph, saved = saved_state(vectors, ids, hashes, k)
    embedding_ids = np.arange(len(vectors)) + 1
    assert neighbour_update.update(graph, saved, "other", ids, vectors, embedding_ids, hashes, k) is None
    changed = embedding_ids.copy()
    changed[:10] += 1000  # 10% changed
    assert neighbour_update.update(graph, saved, "m", ids, vectors, changed, hashes, k) is None
    assert neighbour_update.update(graph, saved, "m", ids, vectors, embedding_ids, hashes, k) is not None
    # A graph up to date with those 10% (earlier updates), but the index built before them: built again.
    current = neighbour_graph.build("m", ids, vectors, *index.knn(vectors, k, exact_max_rows=len(vectors)),
                                    changed, hashes)
    assert neighbour_update.update(current, saved, "m", ids, vectors, changed, hashes, k) is None
