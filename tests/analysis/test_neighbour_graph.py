"""The neighbour graph file: built from the analysis's k-NN answer and the vectors' row identities, saved
atomically, read back; a file of the old format (fingerprints) or a broken one is no graph."""

import numpy as np

from app.embeddings import neighbour_graph
from app.embeddings.index import knn


def identities(n: int, first_row: int = 1) -> tuple[np.ndarray, list[str]]:
    """(embeddings row ids, text hashes) as the analysis reads them for n examples."""
    return np.arange(first_row, first_row + n), [f"{i:064x}" for i in range(n)]


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_build_maps_rows_to_example_ids_and_keeps_missing_slots():
    vectors = unit_rows(3)
    ids = np.array([10, 20, 30])
    sims, rows = knn(vectors, 4)  # more neighbours than there are others: padded with -1 / -inf
    graph = neighbour_graph.build("hashing", ids, vectors, sims, rows, *identities(3))
    assert graph.k == 4 and graph.model == "hashing"
    for i in range(3):
        assert set(graph.neighbours[i, :2].tolist()) == set(ids.tolist()) - {ids[i]}
        assert graph.neighbours[i, 2:].tolist() == [-1, -1]
        assert np.isneginf(graph.similarities[i, 2:]).all()
    assert np.allclose(graph.similarities[0, 0], vectors[0] @ vectors[rows[0, 0]], atol=1e-6)


def test_save_and_load_round_trip_leaves_no_temporary_file(tmp_path):
    vectors = unit_rows(50)
    sims, rows = knn(vectors, 5)
    graph = neighbour_graph.build("all-MiniLM-L6-v2", np.arange(100, 150), vectors, sims, rows, *identities(50))
    path = neighbour_graph.save(tmp_path / "dataset-1", graph)
    assert path == neighbour_graph.graph_path(tmp_path / "dataset-1")
    assert [p.name for p in path.parent.iterdir()] == [neighbour_graph.GRAPH_FILE]
    loaded = neighbour_graph.load(tmp_path / "dataset-1")
    assert loaded.model == "all-MiniLM-L6-v2"
    for name in ("ids", "neighbours", "similarities", "embedding_ids", "text_hashes", "unit_length"):
        assert np.array_equal(getattr(loaded, name), getattr(graph, name)), name
    # A second save replaces the first one whole.
    smaller = neighbour_graph.build("hashing", np.arange(10), vectors[:10], *knn(vectors[:10], 3), *identities(10))
    neighbour_graph.save(tmp_path / "dataset-1", smaller)
    assert neighbour_graph.load(tmp_path / "dataset-1").ids.tolist() == list(range(10))


def test_missing_or_unreadable_graph_is_none(tmp_path):
    assert neighbour_graph.load(None) is None
    assert neighbour_graph.load(tmp_path) is None
    neighbour_graph.graph_path(tmp_path).write_bytes(b"not a graph")
    assert neighbour_graph.load(tmp_path) is None
    vectors = unit_rows(30)
    whole = neighbour_graph.save(tmp_path, neighbour_graph.build("m", np.arange(30), vectors, *knn(vectors, 4), *identities(30)))
    content = whole.read_bytes()
    for cut in (10, len(content) // 2, len(content) - 10):  # truncated copies
        whole.write_bytes(content[:cut])
        assert neighbour_graph.load(tmp_path) is None
    with open(neighbour_graph.graph_path(tmp_path), "wb") as out:  # readable, but the arrays disagree
        np.savez(out, format=np.array(neighbour_graph.GRAPH_FORMAT), model=np.array("m"), ids=np.arange(3),
                 neighbours=np.zeros((2, 1), dtype=np.int64), similarities=np.zeros((2, 1), dtype=np.float32),
                 embedding_ids=np.arange(3), text_hashes=np.array([b"a"] * 3), unit_length=np.ones(3, dtype=bool))
    assert neighbour_graph.load(tmp_path) is None


def test_a_graph_of_the_old_format_is_no_graph(tmp_path):
    # Written by the previous code: fingerprints of the vectors, no identities, no format version.
    vectors = unit_rows(30)
    sims, rows = knn(vectors, 4)
    with open(neighbour_graph.graph_path(tmp_path), "wb") as out:
        np.savez(out, model=np.array("m"), ids=np.arange(30), neighbours=rows, similarities=sims,
                 fingerprints=np.zeros((30, 4), dtype=np.float32))
    assert neighbour_graph.load(tmp_path) is None
    graph = neighbour_graph.build("m", np.arange(30), vectors, sims, rows, *identities(30))
    neighbour_graph.save(tmp_path, graph)
    with np.load(neighbour_graph.graph_path(tmp_path)) as saved:  # another format version
        arrays = {name: saved[name] for name in saved.files}
    with open(neighbour_graph.graph_path(tmp_path), "wb") as out:
        np.savez(out, **{**arrays, "format": np.array(neighbour_graph.GRAPH_FORMAT + 1)})
    assert neighbour_graph.load(tmp_path) is None


def test_identities_and_unit_length_are_kept_per_example():
    vectors = unit_rows(6, dim=384)
    vectors[2] *= 3.0  # not of unit length: the analysis's inner products were no cosines
    vectors[4] = 0     # no vector: the analysis had none for it
    row_ids, hashes = identities(6, first_row=40)
    row_ids[4] = neighbour_graph.NO_VECTOR
    graph = neighbour_graph.build("m", np.arange(6), vectors, *knn(vectors, 2), row_ids, hashes)
    assert graph.embedding_ids.tolist() == [40, 41, 42, 43, -1, 45]
    assert graph.text_hashes.dtype == np.dtype("S64") and graph.text_hashes[3] == hashes[3].encode()
    assert graph.unit_length.tolist() == [True, True, False, True, False, True]
