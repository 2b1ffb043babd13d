"""Deterministic, label-stratified, duplicate-group-aware train/validation/test assignment.

Why not scikit-learn: `GroupShuffleSplit` ignores labels, and `StratifiedGroupKFold` only makes K
equal folds and balances them by a greedy standard-deviation heuristic with no bound per label, so
neither can promise "each label's share in every split within one example of its target" for
ratios such as 0.8/0.1/0.1. The guarantee comes from controlled rounding: duplicate groups of
more than one example are placed first (largest first, into the split they overflow least), then
every label's single examples are shared out so that each split gets floor or ceil of its target,
the +1s going to the splits furthest below their overall size. Only groups larger than a split's
share can break the bound; the plan reports the largest deviation it reached.
"""

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from app.exports.base import pick

SPLIT_NAMES = ("train", "validation", "test")
UNLABELLED = "(unlabelled)"


def connected_groups(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Component number of each of n items, given undirected edges between item positions."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if not edges:
        return np.arange(n, dtype=np.int64)
    a = np.fromiter((e[0] for e in edges), dtype=np.int64, count=len(edges))
    b = np.fromiter((e[1] for e in edges), dtype=np.int64, count=len(edges))
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def groups_sharing_keys(*keys: Sequence) -> np.ndarray:
    """Component number of each item, where items sharing a value in any key column are joined;
    numbered in the order of each component's first item.

    Each distinct value becomes an extra graph node linked to its items, so this is one sparse
    connected-components call, with no pairwise edges. When only one column joins anything (e.g. no
    duplicate findings, so every cluster is a single item), its codes are the components already.
    """
    n = len(keys[0]) if keys else 0
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    columns = [_first_seen_codes(column) for column in keys]
    joining = [codes for codes in columns if int(codes.max()) < n - 1]  # some value repeats
    if len(joining) <= 1:
        return joining[0] if joining else np.arange(n, dtype=np.int64)
    rows, cols, offset = [], [], n
    for codes in joining:
        rows.append(np.arange(n))
        cols.append(offset + codes)
        offset += int(codes.max()) + 1
    a, b = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(offset, offset))
    _, labels = connected_components(graph, directed=False)
    return _first_seen_codes(labels[:n])


def _first_seen_codes(column: Sequence) -> np.ndarray:
    """0, 1, 2, ... for each distinct value, in the order of first appearance."""
    if isinstance(column, np.ndarray):
        _, first, inverse = np.unique(column, return_index=True, return_inverse=True)
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        return rank[inverse.reshape(-1)]
    # Strings (hashes): a dict factorises them faster than sorting them. setdefault with a running
    # counter keeps the loop in C; the codes have gaps (the counter advances on repeats too) until
    # they are ranked.
    first_seen: dict = {}
    spaced = np.fromiter(map(first_seen.setdefault, column, itertools.count()), dtype=np.int64, count=len(column))
    return _first_seen_codes(spaced)


def pick_representatives(clusters: np.ndarray, accepted: Sequence[bool], outputs: Sequence[str],
                         ids: Sequence[int]) -> np.ndarray:
    """Boolean mask keeping one item per cluster: the accepted one, else the longest output, else the lowest id."""
    _, index, sizes = np.unique(clusters, return_inverse=True, return_counts=True)
    keep = np.ones(len(clusters), dtype=bool)
    shared = np.nonzero(sizes[index.reshape(-1)] > 1)[0]  # only clusters of several need a choice
    keep[shared] = False
    best: dict[int, int] = {}
    for i in shared.tolist():
        cluster = int(clusters[i])
        current = best.get(cluster)
        if current is None or (accepted[i], len(outputs[i]), -ids[i]) > (
                accepted[current], len(outputs[current]), -ids[current]):
            best[cluster] = i
    keep[list(best.values())] = True
    return keep


@dataclass
class SplitPlan:
    codes: np.ndarray  # per item, its split as an index into SPLIT_NAMES
    targets: dict[str, dict[str, float]]  # split -> label -> ratio x label count
    counts: dict[str, dict[str, int]]  # split -> label -> count
    max_deviation: float  # largest |count - target| over splits and labels
    notes: list[str] = field(default_factory=list)

    @property
    def within_one(self) -> bool:
        return self.max_deviation <= 1.0 + 1e-9

    @property
    def assignment(self) -> list[str]:
        """Split name per item."""
        return np.array(SPLIT_NAMES, dtype=object)[self.codes].tolist()


def assign_splits(labels: Sequence[str], groups: np.ndarray, ratios: dict[str, float], seed: int) -> SplitPlan:
    splits = [s for s in SPLIT_NAMES if s in ratios]
    active = [s for s in splits if ratios[s] > 0]
    code = {s: SPLIT_NAMES.index(s) for s in splits}
    n = len(labels)
    label_totals = Counter(labels)
    target = {s: {label: ratios[s] * count for label, count in label_totals.items()} for s in splits}
    overall_target = {s: ratios[s] * n for s in splits}
    counts: dict[str, Counter] = {s: Counter() for s in splits}
    sizes = Counter()
    assignment = np.full(n, -1, dtype=np.int64)
    rng = np.random.default_rng(seed)

    # Groups in a seeded order; a group's members in position order.
    _, group_index, group_sizes = np.unique(groups, return_inverse=True, return_counts=True)
    group_index = group_index.reshape(-1)
    order = rng.permutation(len(group_sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    positions = np.arange(n)
    is_single = group_sizes[group_index] == 1
    members: dict[int, list[int]] = defaultdict(list)
    for i in positions[~is_single].tolist():
        members[int(group_index[i])].append(i)
    singles_in_order = positions[is_single][np.argsort(rank[group_index[is_single]], kind="stable")]

    def deficit(split: str, extra: int = 0) -> float:
        return overall_target[split] - sizes[split] - extra

    # 1. Groups of several examples, largest first, into the split they overflow least.
    multi = sorted(members, key=lambda g: (-len(members[g]), rank[g]))
    for group in multi:
        group_labels = Counter(labels[i] for i in members[group])
        size = len(members[group])

        def cost(split: str, group_labels: Counter = group_labels, size: int = size) -> tuple[float, float]:
            overflow = sum(max(0, counts[split][label] + k - math.ceil(target[split][label] - 1e-9))
                           for label, k in group_labels.items())
            return overflow, -deficit(split, size) / max(overall_target[split], 1e-9)

        chosen = min(active, key=cost)
        assignment[members[group]] = code[chosen]
        counts[chosen].update(group_labels)
        sizes[chosen] += size

    # 2. Single examples, label by label: floor or ceil of each split's target. Each label's singles,
    # in the seeded order, are cut into consecutive runs, one per split.
    label_names = list(label_totals)
    label_code = dict(zip(label_names, range(len(label_names))))
    single_labels = np.fromiter(map(label_code.__getitem__, pick(labels, singles_in_order.tolist())),
                                dtype=np.int64, count=len(singles_in_order))
    by_label = np.argsort(single_labels, kind="stable")
    bounds = np.searchsorted(single_labels[by_label], np.arange(len(label_names) + 1))
    singles = {label_names[k]: singles_in_order[by_label[bounds[k]:bounds[k + 1]]]
               for k in range(len(label_names)) if bounds[k + 1] > bounds[k]}
    for label in sorted(singles, key=lambda lab: (-label_totals[lab], lab)):
        placed = {s: counts[s][label] for s in splits}
        want = {s: max(placed[s], math.floor(target[s][label] + 1e-9)) for s in splits}
        free = label_totals[label] - sum(want.values())
        while free < 0:  # splits already above floor elsewhere: trim the most over-served
            trimmable = [s for s in splits if want[s] > placed[s]]
            split = max(trimmable, key=lambda s: (want[s] - target[s][label], -deficit(s)))
            want[split] -= 1
            free += 1
        while free > 0:
            room = [s for s in active if want[s] < math.ceil(target[s][label] - 1e-9)] or active
            split = max(room, key=lambda s: deficit(s, want[s] - placed[s]))
            want[split] += 1
            free -= 1
        start = 0
        for split in splits:
            taken = want[split] - placed[split]
            assignment[singles[label][start:start + taken]] = code[split]
            start += taken
            counts[split][label] += taken
            sizes[split] += taken

    final_counts = {s: {label: counts[s][label] for label in label_totals} for s in splits}
    deviation = max((abs(final_counts[s][label] - target[s][label]) for s in splits for label in label_totals),
                    default=0.0)
    assignment[assignment < 0] = code[active[0]]
    plan = SplitPlan(codes=assignment, targets=target, counts=final_counts, max_deviation=float(deviation))
    if not plan.within_one:
        plan.notes.append("a duplicate group larger than a split's share of its label kept the split "
                          f"{deviation:.2f} examples away from its target")
    return plan


def split_counts(labels: Sequence[str], split_codes: np.ndarray) -> dict:
    """Examples per split and label, and per label overall; labels by descending count."""
    totals = Counter(labels)
    order = sorted(totals, key=lambda lab: (-totals[lab], lab))
    label_code = dict(zip(order, range(len(order))))
    codes = np.fromiter(map(label_code.__getitem__, labels), dtype=np.int64, count=len(labels))
    # One count per (label, split) cell.
    table = np.bincount(codes * len(SPLIT_NAMES) + split_codes,
                        minlength=len(order) * len(SPLIT_NAMES)).reshape(len(order), len(SPLIT_NAMES)).tolist()
    return {
        "total": len(labels),
        "splits": {s: {"total": sum(row[k] for row in table),
                       "labels": {lab: row[k] for lab, row in zip(order, table) if row[k]}}
                   for k, s in enumerate(SPLIT_NAMES)},
        "labels": {lab: totals[lab] for lab in order},
    }
