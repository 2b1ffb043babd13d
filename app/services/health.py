"""The health page's figures beyond the report: every check with its counts, score histograms, cluster
sizes, token lengths and the embedding map, from grouped queries and the analysis's stored arrays."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import Integer, cast, func, select
from sqlmodel import Session

from app.checks.registry import CHECKS, effective_settings
from app.embeddings.neighbour_graph import analysis_cache_dir
from app.models import Example, Finding, FindingStatus
from app.services.datasets import get_dataset
from app.services.projection import load_health_arrays
from app.services.review import CLUSTER_CHECKS

SCORE_BINS = 20
MAP_SAMPLE = 1200     # points drawn (and clickable) on the map, at most
MAP_GRID = (40, 26)   # density cells behind them: every example counts, however many there are
TOKEN_EDGES = [0, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
CLUSTER_SIZE_BUCKETS = [(2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, 50), (51, None)]


@dataclass
class CheckSummary:
    name: str
    description: str
    enabled: bool
    counts: dict[str, int]
    score_bins: list[int]             # SCORE_BINS counts over [0, 1]
    threshold: float | None = None    # where the check's own score threshold lies, if it has one

    @property
    def open(self) -> int:
        return self.counts.get(FindingStatus.open, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class MapPoint:
    example_id: int
    x: float  # 0..1
    y: float  # 0..1
    label: str | None
    flagged: bool


@dataclass
class EmbeddingMap:
    points: list[MapPoint]
    density: list[tuple[int, int, int]]  # (column, row, count) of non-empty cells
    total: int
    explained: float
    grid: tuple[int, int] = MAP_GRID


@dataclass
class HealthDetails:
    checks: list[CheckSummary]
    cluster_sizes: list[tuple[str, int]]
    input_tokens: list[tuple[str, int]] = field(default_factory=list)
    output_tokens: list[tuple[str, int]] = field(default_factory=list)
    map: EmbeddingMap | None = None


def _checks(session: Session, dataset_id: int, settings: dict) -> list[CheckSummary]:
    counts: dict[str, dict[str, int]] = {}
    for check, status, n in session.execute(select(Finding.check, Finding.status, func.count()).where(
            Finding.dataset_id == dataset_id).group_by(Finding.check, Finding.status)).all():
        counts.setdefault(check, {})[status] = n
    bins: dict[str, list[int]] = {}
    bucket = cast(Finding.score * SCORE_BINS, Integer)
    for check, b, n in session.execute(select(Finding.check, bucket, func.count()).where(
            Finding.dataset_id == dataset_id).group_by(Finding.check, bucket)).all():
        row = bins.setdefault(check, [0] * SCORE_BINS)
        row[min(max(int(b), 0), SCORE_BINS - 1)] += n
    summaries = []
    for name, check in CHECKS.items():
        threshold = settings.get(name, {}).get("threshold")
        summaries.append(CheckSummary(name, check.description, bool(settings.get(name, {}).get("enabled", True)),
                                      counts.get(name, {}), bins.get(name, [0] * SCORE_BINS),
                                      float(threshold) if isinstance(threshold, int | float) else None))
    return summaries


def _cluster_sizes(session: Session, dataset_id: int) -> list[tuple[str, int]]:
    """How many clusters have 2, 3, 4-5, ... members (findings + their representative)."""
    cluster_id = Finding.details["cluster_id"].as_string()
    sizes = [n + 1 for (n,) in session.execute(select(func.count()).where(
        Finding.dataset_id == dataset_id, Finding.check.in_([c for c in CLUSTER_CHECKS if c != "conflicting_output"])
    ).group_by(Finding.check, cluster_id)).all()]
    return [(f"{low}" if low == high else f"{low}–{high}" if high else f"{low}+",
             sum(1 for s in sizes if s >= low and (high is None or s <= high))) for low, high in CLUSTER_SIZE_BUCKETS]


def _token_histogram(lengths: np.ndarray) -> list[tuple[str, int]]:
    edges = np.array(TOKEN_EDGES[1:] + [np.iinfo(np.int32).max])
    counts = np.bincount(np.searchsorted(edges, lengths, side="right"), minlength=len(edges))[:len(edges)]
    names = [f"{lo}–{hi - 1}" for lo, hi in zip(TOKEN_EDGES, TOKEN_EDGES[1:])] + [f"{TOKEN_EDGES[-1]}+"]
    return list(zip(names, counts.tolist(), strict=True))


def _map(session: Session, dataset_id: int, ids: np.ndarray, coordinates: np.ndarray, explained: float) -> EmbeddingMap:
    if not len(ids):
        return EmbeddingMap([], [], 0, explained)
    low, high = coordinates.min(axis=0), coordinates.max(axis=0)
    unit = (coordinates - low) / np.where(high - low > 0, high - low, 1)
    columns, rows = MAP_GRID
    cells = np.minimum((unit * [columns, rows]).astype(np.int64), [columns - 1, rows - 1])
    flat = np.bincount(cells[:, 0] * rows + cells[:, 1], minlength=columns * rows)
    density = [(int(i // rows), int(i % rows), int(n)) for i in np.flatnonzero(flat) for n in [flat[i]]]
    flagged_ids = np.fromiter(session.scalars(select(Finding.example_id).where(
        Finding.dataset_id == dataset_id, Finding.status == FindingStatus.open).distinct()), dtype=np.int64)
    flagged = np.isin(ids, flagged_ids)
    # Every flagged point up to half the sample, the rest a fixed random draw: the map shows what to look at.
    rng = np.random.default_rng(0)
    chosen = np.flatnonzero(flagged)
    if len(chosen) > MAP_SAMPLE // 2:
        chosen = rng.choice(chosen, MAP_SAMPLE // 2, replace=False)
    others = np.flatnonzero(~flagged)
    if len(others) > MAP_SAMPLE - len(chosen):
        others = rng.choice(others, MAP_SAMPLE - len(chosen), replace=False)
    chosen = np.sort(np.concatenate([chosen, others]))
    # Only the drawn examples are read: one deleted since the analysis has no row and is left out.
    # By primary key alone (with a dataset_id condition SQLite walks the dataset's label index instead).
    rows = session.execute(select(Example.id, Example.label, Example.dataset_id).where(
        Example.id.in_(ids[chosen].tolist()))).all() if len(chosen) else []
    labels = {example_id: label for example_id, label, owner in rows if owner == dataset_id}
    points = [MapPoint(int(ids[i]), float(unit[i, 0]), float(unit[i, 1]), labels.get(int(ids[i])), bool(flagged[i]))
              for i in chosen if int(ids[i]) in labels]
    return EmbeddingMap(points, density, len(ids), explained)


def health_details(session: Session, dataset_id: int, data_dir: Path) -> HealthDetails:
    dataset = get_dataset(session, dataset_id)
    details = HealthDetails(_checks(session, dataset_id, effective_settings(dataset.settings)),
                            _cluster_sizes(session, dataset_id))
    arrays = load_health_arrays(analysis_cache_dir(data_dir, dataset_id))
    if arrays is not None:
        details.input_tokens = _token_histogram(arrays.input_tokens)
        details.output_tokens = _token_histogram(arrays.output_tokens)
        if arrays.coordinates is not None:
            details.map = _map(session, dataset_id, arrays.ids, arrays.coordinates, arrays.explained)
    return details
