"""The split assignment alone: deterministic, stratified within one example, groups whole."""

import math
from collections import Counter

import numpy as np
import pytest

from app.exports.splits import assign_splits, connected_groups, groups_sharing_keys, pick_representatives

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def imbalanced_labels() -> list[str]:
    sizes = {"a": 503, "b": 120, "c": 37, "d": 9, "e": 2, "f": 1}
    return [label for label, n in sizes.items() for _ in range(n)]


def test_same_seed_same_assignment_other_seed_differs():
    labels = imbalanced_labels()
    groups = np.arange(len(labels))
    first = assign_splits(labels, groups, RATIOS, seed=7).assignment
    assert assign_splits(labels, groups, RATIOS, seed=7).assignment == first
    assert assign_splits(labels, groups, RATIOS, seed=8).assignment != first


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_label_within_one_example_of_its_target_in_every_split(seed):
    labels = imbalanced_labels()
    plan = assign_splits(labels, np.arange(len(labels)), RATIOS, seed)
    totals = Counter(labels)
    for split, ratio in RATIOS.items():
        got = Counter(label for label, s in zip(labels, plan.assignment) if s == split)
        for label, n in totals.items():
            assert abs(got[label] - ratio * n) <= 1, (split, label, got[label], ratio * n)
    assert plan.within_one


def test_overall_split_sizes_stay_close_even_with_many_tiny_classes():
    labels = [f"class{i}" for i in range(40)]  # 40 classes of one example each
    plan = assign_splits(labels, np.arange(40), RATIOS, seed=3)
    sizes = Counter(plan.assignment)
    assert sizes == {"train": 32, "validation": 4, "test": 4}


def test_groups_land_whole_in_one_split_and_stratification_holds():
    rng = np.random.default_rng(0)
    labels = [str(x) for x in rng.choice(["x", "y", "z"], size=300, p=[0.6, 0.3, 0.1])]
    groups = np.arange(300)
    for start in range(0, 60, 3):  # twenty groups of three of the same label
        groups[start + 1] = groups[start + 2] = start
        labels[start + 1] = labels[start + 2] = labels[start]
    plan = assign_splits(labels, groups, RATIOS, seed=5)
    for start in range(0, 60, 3):
        assert len({plan.assignment[start + k] for k in range(3)}) == 1
    assert plan.within_one


def test_zero_ratio_split_gets_nothing_and_a_class_of_one_goes_somewhere():
    labels = ["big"] * 10 + ["lonely"]
    plan = assign_splits(labels, np.arange(11), {"train": 0.9, "validation": 0.0, "test": 0.1}, seed=0)
    assert "validation" not in plan.assignment
    assert Counter(plan.assignment) == {"train": 10, "test": 1}
    assert plan.within_one


def test_tiny_dataset_of_two_examples():
    plan = assign_splits(["a", "a"], np.arange(2), RATIOS, seed=0)
    assert plan.assignment == ["train", "train"]


def test_a_group_too_big_for_its_share_is_reported_not_broken():
    labels = ["a"] * 10
    groups = np.array([0] * 6 + [6, 7, 8, 9])  # a cluster of 6 must go whole somewhere
    plan = assign_splits(labels, groups, RATIOS, seed=0)
    assert len({plan.assignment[i] for i in range(6)}) == 1
    assert plan.assignment[0] == "train"
    assert math.isclose(plan.max_deviation, 0.0)


def test_a_group_larger_than_any_share_breaks_the_bound_and_says_so():
    plan = assign_splits(["a"] * 10, np.zeros(10, dtype=np.int64), {"train": 0.5, "validation": 0.5}, seed=0)
    assert len(set(plan.assignment)) == 1
    assert not plan.within_one and math.isclose(plan.max_deviation, 5.0) and plan.notes


def test_connected_groups_and_representatives():
    groups = connected_groups(5, [(0, 1), (1, 2)])
    assert groups[0] == groups[1] == groups[2] and len(set(groups.tolist())) == 3
    outputs = ["x" * 50, "x", "x" * 99, "xyz", "xyz"]
    keep = pick_representatives(groups, accepted=[False, True, False, False, False], outputs=outputs,
                                ids=[10, 11, 12, 13, 14])
    assert keep.tolist() == [False, True, False, True, True]  # the accepted one wins over the longest
    keep = pick_representatives(groups, accepted=[False] * 5, outputs=outputs, ids=[10, 11, 12, 13, 14])
    assert keep.tolist() == [False, False, True, True, True]  # else the longest output


def test_groups_sharing_keys_joins_items_through_any_shared_value():
    clusters = np.array([0, 0, 1, 2, 3])
    hashes = ["h1", "h2", "h2", "h3", "h4"]
    groups = groups_sharing_keys(clusters, hashes)
    assert groups[0] == groups[1] == groups[2]  # 0-1 by cluster, 1-2 by hash
    assert len({groups[0], groups[3], groups[4]}) == 3
