"""The near-duplicate leakage check read from the analysis's neighbour graph finds exactly what the
exhaustive search finds: on planted clusters bigger than k (saturated items), vectors changed after
the analysis, items the analysis never saw, a graph of another model, and on random vectors."""

import numpy as np
import pytest

from app.embeddings import neighbour_graph
from app.embeddings.index import knn
from app.exports.leakage import NearSearch, StoredVectors, check_leakage, content_identities
from app.exports.splits import SPLIT_NAMES

THRESHOLD = 0.9


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def clustered(rng, sizes: list[int], dim: int = 24, spread: float = 0.12) -> np.ndarray:
    """Clusters of near-duplicates (cosine mostly ~0.9-0.99 inside, ~0 across)."""
    centres = rng.normal(size=(len(sizes), dim))
    return unit(np.concatenate([centre + spread * rng.normal(size=(size, dim)) for centre, size in
                                zip(centres, sizes)]))


def graph_of(vectors: np.ndarray, ids: np.ndarray, k: int, model: str = "m"):
    """What run_analysis saves: the k-NN of every example the analysis saw, and the identity of each
    vector (here its content's sha256, standing for the embeddings row's id and text hash)."""
    return neighbour_graph.build(model, ids, vectors, *knn(vectors, k), *content_identities(vectors))


def search(ids, vectors: np.ndarray, row_of, threshold: float, graph=None, model: str = "m") -> NearSearch:
    """The search over these vectors (item i's is row row_of[i], -1 none), identified by their content."""
    return NearSearch(ids, model, StoredVectors.in_memory(vectors, row_of), threshold, graph)


def assert_same_answer(with_graph: NearSearch, exhaustive: NearSearch, codes: np.ndarray, vectors: np.ndarray,
                       row_of: np.ndarray) -> dict:
    found, _ = with_graph.nearest_train(codes)
    expected, _ = exhaustive.nearest_train(codes)
    unit_now = unit(vectors)
    for split in ("validation", "test"):
        assert [i for i, _, _ in found[split]] == [i for i, _, _ in expected[split]], split
        for (i, j, sim), (_, _, sim_expected) in zip(found[split], expected[split]):
            assert codes[j] == SPLIT_NAMES.index("train")
            assert sim == pytest.approx(sim_expected, abs=1e-5)
            # the partner is a nearest train item (ties may name another one)
            assert float(unit_now[row_of[i]] @ unit_now[row_of[j]]) == pytest.approx(sim_expected, abs=1e-5)
    return found


def random_codes(rng, n: int) -> np.ndarray:
    return rng.choice(3, size=n, p=[0.6, 0.2, 0.2]).astype(np.int64)


def test_planted_clusters_edits_and_late_imports_give_the_exhaustive_answer():
    rng = np.random.default_rng(7)
    k = 5
    # Clusters of 1 to 25 members: those bigger than k + 1 hold saturated items.
    analysed = clustered(rng, [25, 18, 12, 7, 6, 3, 2, 2, *[1] * 40])
    n = len(analysed)
    ids = np.arange(1000, 1000 + n)
    graph = graph_of(analysed, ids, k)
    current = analysed.copy()
    edited = rng.choice(n, size=12, replace=False)  # edited after the analysis: moved next to another item
    current[edited] = unit(current[rng.choice(n, size=12)] + 0.05 * rng.normal(size=(12, analysed.shape[1])))
    late = unit(current[rng.choice(n, size=15)] + 0.08 * rng.normal(size=(15, analysed.shape[1])))
    current = np.concatenate([current, late])  # imported after the analysis: not in the graph
    all_ids = np.concatenate([ids, np.arange(5000, 5015)])
    # The export leaves out a few analysed examples (a status filter) and one example has no vector.
    keep = np.ones(len(all_ids), dtype=bool)
    keep[rng.choice(n, size=6, replace=False)] = False
    export_ids = all_ids[keep]
    row_of = np.nonzero(keep)[0]
    row_of[3] = -1
    with_graph = search(export_ids, current, row_of, THRESHOLD, graph)
    exhaustive = search(export_ids, current, row_of, THRESHOLD, None)
    assert with_graph.uses_graph and not exhaustive.uses_graph
    assert with_graph.saturated.sum() >= 20 and (~with_graph.fresh & with_graph.has_vector).sum() >= 15 + 10
    leaks = 0
    for _ in range(30):
        codes = random_codes(rng, len(export_ids))
        found = assert_same_answer(with_graph, exhaustive, codes, current, row_of)
        leaks += sum(map(len, found.values()))
    assert leaks > 100  # the planted clusters do straddle the splits


@pytest.mark.parametrize("seed", range(12))
def test_random_vectors_give_the_exhaustive_answer(seed):
    rng = np.random.default_rng(seed)
    n, dim = int(rng.integers(20, 300)), int(rng.integers(4, 40))
    k = int(rng.integers(1, 12))
    # A mixture: near-duplicate clusters of random sizes over random background vectors.
    sizes = rng.integers(1, 3 * k + 3, size=int(rng.integers(1, 12))).tolist()
    analysed = np.concatenate([clustered(rng, sizes, dim, spread=float(rng.uniform(0.05, 0.3))),
                               unit(rng.normal(size=(n, dim)))])
    ids = rng.permutation(10 * len(analysed))[:len(analysed)]  # ids in any order
    current = analysed.copy()
    changed = rng.random(len(current)) < 0.05
    current[changed] = unit(rng.normal(size=(int(changed.sum()), dim)))
    graph = graph_of(analysed, ids, k)
    # Half the runs put the threshold among the k-th neighbours' similarities: many items are then
    # just saturated, or just not, which is where a wrong saturation rule would miss a pair.
    kth = graph.similarities[:, -1]
    threshold = float(rng.uniform(0.6, 0.97) if seed % 2 else np.quantile(kth[np.isfinite(kth)], rng.uniform(0.3, 0.9)))
    row_of = np.arange(len(current))
    row_of[rng.random(len(current)) < 0.03] = -1
    with_graph = search(ids, current, row_of, threshold, graph)
    exhaustive = search(ids, current, row_of, threshold, None)
    for _ in range(5):
        assert_same_answer(with_graph, exhaustive, random_codes(rng, len(ids)), current, row_of)


def test_identical_vectors_are_found_through_the_graph_without_a_search():
    vectors = unit(np.random.default_rng(1).normal(size=(40, 16)))
    vectors[1] = vectors[0]  # an exact copy: both are each other's neighbour at ~1.0
    ids = np.arange(40)
    near = search(ids, vectors, np.arange(40), THRESHOLD, graph_of(vectors, ids, 3))
    codes = np.zeros(40, dtype=np.int64)
    codes[1] = SPLIT_NAMES.index("test")
    found, searched = near.nearest_train(codes)
    assert searched == 0 and [(i, j) for i, j, _ in found["test"]] == [(1, 0)]
    assert found["test"][0][2] == pytest.approx(1.0, abs=1e-5)
    assert near.vectors.loads == 2  # only the graph's candidate pair's vectors were read


def test_a_graph_of_another_model_or_without_neighbours_falls_back_to_the_search():
    rng = np.random.default_rng(3)
    vectors = clustered(rng, [8, 8, 1, 1, 1, 1])
    ids = np.arange(len(vectors))
    codes = random_codes(rng, len(ids))
    exhaustive = search(ids, vectors, np.arange(len(ids)), THRESHOLD, None)
    other_model = search(ids, vectors, np.arange(len(ids)), THRESHOLD, graph_of(vectors, ids, 4, "other"))
    assert not other_model.uses_graph
    assert other_model.nearest_train(codes) == exhaustive.nearest_train(codes)
    no_neighbours = search(ids, vectors, np.arange(len(ids)), THRESHOLD, graph_of(vectors, ids, 0))
    assert no_neighbours.uses_graph and no_neighbours.saturated.all()  # k = 0: every item must be searched
    assert_same_answer(no_neighbours, exhaustive, codes, vectors, np.arange(len(ids)))


def test_manifest_reports_the_method_and_the_searched_items():
    rng = np.random.default_rng(5)
    vectors = clustered(rng, [30, *[1] * 30])
    ids = np.arange(len(vectors))
    hashes = [f"h{i}" for i in ids]
    codes = random_codes(rng, len(ids))
    held_out = int((codes != 0).sum())
    graph_report, graph_pairs = check_leakage(
        codes, ids.tolist(), hashes, search(ids, vectors, ids, THRESHOLD, graph_of(vectors, ids, 5)),
        THRESHOLD)
    full_report, full_pairs = check_leakage(codes, ids.tolist(), hashes, search(ids, vectors, ids, THRESHOLD),
                                            THRESHOLD)
    assert graph_pairs == full_pairs and graph_pairs
    assert graph_report["near_duplicates"] == full_report["near_duplicates"]
    assert [v["example_id"] for v in graph_report["violations"]] == [v["example_id"] for v in full_report["violations"]]
    assert graph_report["near_check"] == full_report["near_check"] == "done"
    assert "neighbour graph" in graph_report["near_method"] and "exhaustive" in full_report["near_method"]
    assert full_report["near_searched_exhaustively"] == held_out
    # only the saturated members of the big cluster are searched (against the cluster's train members)
    assert 0 < graph_report["near_searched_exhaustively"] < held_out


def test_vectors_not_of_unit_length_are_searched_not_read_from_the_graph():
    # The analysis ranks neighbours by inner product, which is the cosine only for unit vectors.
    rng = np.random.default_rng(11)
    unit_vectors = clustered(rng, [12, 9, 4, *[1] * 20])
    lengths = np.ones(len(unit_vectors), dtype=np.float32)
    lengths[::3] = rng.uniform(0.2, 3.0, size=len(lengths[::3]))
    raw = unit_vectors * lengths[:, None]
    ids = np.arange(len(raw))
    with_graph = search(ids, raw, ids, THRESHOLD, graph_of(raw, ids, 3))
    assert not with_graph.fresh[::3].any() and with_graph.fresh[1::3].all()
    exhaustive = search(ids, raw, ids, THRESHOLD, None)
    for _ in range(10):
        assert_same_answer(with_graph, exhaustive, random_codes(rng, len(ids)), raw, ids)


def test_vectors_are_loaded_only_for_what_is_searched():
    rng = np.random.default_rng(13)
    vectors = unit(rng.normal(size=(200, 16)))  # no near-duplicates: nothing saturated, no candidate edge
    ids = np.arange(200)
    graph = graph_of(vectors, ids, 4)
    codes = random_codes(rng, len(ids))
    fresh = search(ids, vectors, ids, THRESHOLD, graph)
    assert fresh.fresh.all() and fresh.nearest_train(codes) == ({"validation": [], "test": []}, 0)
    assert fresh.vectors.loads == 0
    # One held-out item changed since the analysis: it is searched against every train item, and
    # nothing else is read.
    current = vectors.copy()
    held = np.nonzero(codes != 0)[0]
    current[held[0]] = unit(rng.normal(size=(1, 16)))[0]
    stale = search(ids, current, ids, THRESHOLD, graph)
    found, searched = stale.nearest_train(codes)
    assert searched == 1 and stale.vectors.loads == 1 + int((codes == 0).sum())
    assert found == search(ids, current, ids, THRESHOLD).nearest_train(codes)[0]
    # One train item changed: every fresh held-out item is searched against it alone.
    current = vectors.copy()
    current[np.nonzero(codes == 0)[0][0]] = unit(rng.normal(size=(1, 16)))[0]
    stale_train = search(ids, current, ids, THRESHOLD, graph)
    _, searched = stale_train.nearest_train(codes)
    assert searched == 1 and stale_train.vectors.loads == 1 + len(held)


def test_an_item_whose_row_identity_changed_is_not_fresh_even_with_the_same_vector():
    # A vector written again (another embeddings row, or the same row id with another text hash) is not
    # known to be the analysed one without reading it: it is searched.
    vectors = clustered(np.random.default_rng(17), [6, 1, 1, 1])
    ids = np.arange(len(vectors))
    row_ids = np.arange(100, 100 + len(ids))
    hashes = [f"{i:064x}" for i in ids]
    graph = neighbour_graph.build("m", ids, vectors, *knn(vectors, 2), row_ids, hashes)
    now_ids, now_hashes = row_ids.copy(), list(hashes)
    now_ids[0] = 999
    now_hashes[1] = f"{77:064x}"
    near = NearSearch(ids, "m", StoredVectors.in_memory(vectors, ids, now_ids, now_hashes), THRESHOLD, graph)
    assert near.fresh.tolist() == [i not in (0, 1) for i in ids]
