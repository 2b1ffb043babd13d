"""Duplicate clusters shared by exact_duplicate, near_duplicate and conflicting_output."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import Field
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from app.checks.settings import CheckSettings


class NearDuplicateSettings(CheckSettings):
    """The near_duplicate check's settings; conflicting_output's near groups use the same clusters."""

    # None: the embedding model's own (app/embeddings/thresholds.py: 0.92 for MiniLM, 0.98 for the static model).
    threshold: Annotated[float | None, Field(gt=0, le=1, description="cosine similarity of near-duplicate inputs "
                                             "(empty: the embedding model's own, 0.92 or 0.98)")] = None
    k: Annotated[int, Field(ge=1, le=200, description="neighbours looked at per example")] = 10


@dataclass
class NearCluster:
    rows: list[int]
    # Per row: best similarity to another member (the edge that put it in the cluster).
    similarity: dict[int, float]


def exact_clusters(examples: Sequence[Any]) -> list[list[int]]:
    """Rows grouped by normalised input (NFKC, casefold, collapsed whitespace); groups of 2+ only."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row, example in enumerate(examples):
        groups[example.input_hash].append(row)
    clusters = [rows for rows in groups.values() if len(rows) > 1]
    return sorted(clusters, key=lambda rows: examples[rows[0]].id)


def near_clusters(examples: Sequence[Any], neighbours: tuple[np.ndarray, np.ndarray], threshold: float,
                  k: int) -> list[NearCluster]:
    """Connected components of the graph 'j is among i's k nearest and cosine >= threshold'."""
    n = len(examples)
    sims, idx = neighbours
    k = min(k, idx.shape[1])
    sims, idx = sims[:, :k], idx[:, :k]
    mask = (idx >= 0) & (sims >= threshold)
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
    return sorted(clusters, key=lambda c: examples[c.rows[0]].id)
