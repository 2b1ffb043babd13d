"""Duplicate clusters shared by exact_duplicate, near_duplicate and conflicting_output."""

from collections import defaultdict

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from app.checks.base import AnalysisContext, NearCluster

NEAR_DEFAULTS = {"threshold": 0.92, "k": 10}


def exact_clusters(ctx: AnalysisContext) -> list[list[int]]:
    """Rows grouped by normalised input (NFKC, casefold, collapsed whitespace); groups of 2+ only."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row, example in enumerate(ctx.examples):
        groups[example.input_hash].append(row)
    clusters = [rows for rows in groups.values() if len(rows) > 1]
    return sorted(clusters, key=lambda rows: ctx.examples[rows[0]].id)


def near_clusters(ctx: AnalysisContext) -> list[NearCluster]:
    """Connected components of the graph 'j is among i's k nearest and cosine >= threshold'."""
    settings = {**NEAR_DEFAULTS, **ctx.settings_of("near_duplicate")}
    n = len(ctx.examples)
    if n < 2 or ctx.vectors is None:
        return []
    sims, idx = ctx.neighbours
    k = min(int(settings["k"]), idx.shape[1])
    sims, idx = sims[:, :k], idx[:, :k]
    mask = (idx >= 0) & (sims >= float(settings["threshold"]))
    sources = np.repeat(np.arange(n), k)[mask.ravel()]
    targets = idx.ravel()[mask.ravel()]
    if len(sources) == 0:
        return []
    graph = coo_matrix((np.ones(len(sources), dtype=np.int8), (sources, targets)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    best = np.full(n, -np.inf)
    np.maximum.at(best, sources, sims[mask])
    np.maximum.at(best, targets, sims[mask])
    members: dict[int, list[int]] = defaultdict(list)
    for row in np.unique(np.concatenate([sources, targets])):
        members[int(labels[row])].append(int(row))
    clusters = [NearCluster(rows=sorted(rows), similarity={r: float(min(1.0, best[r])) for r in rows})
                for rows in members.values() if len(rows) > 1]
    return sorted(clusters, key=lambda c: ctx.examples[c.rows[0]].id)
