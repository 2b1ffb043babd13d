"""The budget's selection on data with a known cluster structure, its label quotas and its coverage."""

import numpy as np

from app.services import budget


def clustered(sizes: list[int], dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors in well-separated clusters: (vectors, cluster of each row)."""
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.normal(size=(dim, dim)))[0][:len(sizes)]  # orthogonal directions
    rows, cluster = [], []
    for c, n in enumerate(sizes):
        points = centres[c] + 0.02 * rng.normal(size=(n, dim))
        rows.append(points)
        cluster += [c] * n
    vectors = np.vstack(rows).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.asarray(cluster)


def test_diverse_covers_every_cluster_and_random_does_not():
    sizes = [910] + [10] * 9  # one large cluster, nine small ones
    vectors, cluster = clustered(sizes)
    labels = ["x"] * len(cluster)
    diverse = budget.select(vectors, labels, 10, "diverse", seed=1, min_per_label=0)
    random = budget.select(vectors, labels, 10, "random", seed=1, min_per_label=0)
    assert len(diverse) == len(random) == 10 and len(set(diverse.tolist())) == 10
    assert set(cluster[diverse]) == set(range(10))
    assert len(set(cluster[random])) < 10
    assert budget.coverage(vectors, diverse).max_distance_to_nearest_selected < \
        budget.coverage(vectors, random).max_distance_to_nearest_selected
    assert budget.coverage(vectors, diverse).mean_distance_to_nearest_selected < \
        budget.coverage(vectors, random).mean_distance_to_nearest_selected


def test_quotas_keep_every_label_at_its_minimum_and_share_the_rest_by_size():
    labels = ["big"] * 900 + ["mid"] * 90 + ["tiny"] * 3
    quota = budget.quotas(labels, 100, min_per_label=10)
    assert sum(quota.values()) == 100
    assert quota["tiny"] == 3 and quota["mid"] >= 10 and quota["big"] > quota["mid"]


def test_quotas_when_the_minimums_exceed_the_budget():
    labels = [f"l{i}" for i in range(20) for _ in range(50)]
    quota = budget.quotas(labels, 10, min_per_label=10)
    assert sum(quota.values()) == 10 and max(quota.values()) <= 1


def test_selection_is_stratified_by_label():
    vectors, _ = clustered([200, 200])
    labels = ["a"] * 300 + ["b"] * 100
    picked = budget.select(vectors, labels, 40, "diverse", seed=0, min_per_label=5)
    chosen = [labels[i] for i in picked]
    assert chosen.count("a") == 30 and chosen.count("b") == 10


def test_coverage_is_zero_when_everything_is_selected():
    vectors, _ = clustered([5, 5])
    result = budget.coverage(vectors, np.arange(10))
    assert result.max_distance_to_nearest_selected < 1e-5
