"""The neighbour graph file: built from the analysis's k-NN answer, saved atomically, read back, fingerprints."""

import numpy as np

from app.embeddings import neighbour_graph
from app.embeddings.index import knn


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_build_maps_rows_to_example_ids_and_keeps_missing_slots():
    vectors = unit_rows(3)
    ids = np.array([10, 20, 30])
    sims, rows = knn(vectors, 4)  # more neighbours than there are others: padded with -1 / -inf
    graph = neighbour_graph.build("hashing", ids, vectors, sims, rows)
    assert graph.k == 4 and graph.model == "hashing"
    for i in range(3):
        assert set(graph.neighbours[i, :2].tolist()) == set(ids.tolist()) - {ids[i]}
        assert graph.neighbours[i, 2:].tolist() == [-1, -1]
        assert np.isneginf(graph.similarities[i, 2:]).all()
    assert np.allclose(graph.similarities[0, 0], vectors[0] @ vectors[rows[0, 0]], atol=1e-6)


def test_save_and_load_round_trip_leaves_no_temporary_file(tmp_path):
    vectors = unit_rows(50)
    sims, rows = knn(vectors, 5)
    graph = neighbour_graph.build("all-MiniLM-L6-v2", np.arange(100, 150), vectors, sims, rows)
    path = neighbour_graph.save(tmp_path / "dataset-1", graph)
    assert path == neighbour_graph.graph_path(tmp_path / "dataset-1")
    assert [p.name for p in path.parent.iterdir()] == [neighbour_graph.GRAPH_FILE]
    loaded = neighbour_graph.load(tmp_path / "dataset-1")
    assert loaded.model == "all-MiniLM-L6-v2"
    for name in ("ids", "neighbours", "similarities", "fingerprints"):
        assert np.array_equal(getattr(loaded, name), getattr(graph, name)), name
    # A second save replaces the first one whole.
    smaller = neighbour_graph.build("hashing", np.arange(10), vectors[:10], *knn(vectors[:10], 3))
    neighbour_graph.save(tmp_path / "dataset-1", smaller)
    assert neighbour_graph.load(tmp_path / "dataset-1").ids.tolist() == list(range(10))


def test_missing_or_unreadable_graph_is_none(tmp_path):
    assert neighbour_graph.load(None) is None
    assert neighbour_graph.load(tmp_path) is None
    neighbour_graph.graph_path(tmp_path).write_bytes(b"not a graph")
    assert neighbour_graph.load(tmp_path) is None
    vectors = unit_rows(30)
    whole = neighbour_graph.save(tmp_path, neighbour_graph.build("m", np.arange(30), vectors, *knn(vectors, 4)))
    content = whole.read_bytes()
    for cut in (10, len(content) // 2, len(content) - 10):  # truncated copies
        whole.write_bytes(content[:cut])
        assert neighbour_graph.load(tmp_path) is None
    with open(neighbour_graph.graph_path(tmp_path), "wb") as out:  # readable, but the arrays disagree
        np.savez(out, model=np.array("m"), ids=np.arange(3), neighbours=np.zeros((2, 1), dtype=np.int64),
                 similarities=np.zeros((2, 1), dtype=np.float32), fingerprints=np.zeros((3, 4), dtype=np.float32))
    assert neighbour_graph.load(tmp_path) is None


def test_fingerprints_tell_changed_vectors_and_missing_ones():
    vectors = unit_rows(20, dim=384)
    stored = neighbour_graph.fingerprints(vectors)
    assert stored.shape == (20, neighbour_graph.FINGERPRINT_WIDTH)
    assert neighbour_graph.same_vectors(stored, neighbour_graph.fingerprints(vectors.copy())).all()
    # Computed on a subset (another matrix shape), the same vectors still match.
    assert neighbour_graph.same_vectors(stored[5:9], neighbour_graph.fingerprints(vectors[5:9])).all()
    edited = vectors.copy()
    edited[3] = unit_rows(1, dim=384, seed=9)[0]                      # another text's vector
    edited[4] = edited[4] + 1e-4 * unit_rows(1, dim=384, seed=10)[0]  # a slightly different one
    edited[5] = 0                                                     # no vector
    same = neighbour_graph.same_vectors(stored, neighbour_graph.fingerprints(edited))
    assert same.tolist() == [i not in (3, 4, 5) for i in range(20)]
    assert not neighbour_graph.same_vectors(neighbour_graph.fingerprints(edited[5:6]),
                                            neighbour_graph.fingerprints(edited[5:6])).any()
