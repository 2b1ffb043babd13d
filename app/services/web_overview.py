"""Read-only summaries the HTML pages show and no other service answers yet.

Each function is one round of grouped queries, so the datasets list stays cheap with many datasets.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session

from app.models import Example, Finding, FindingStatus, Job, JobKind
from app.schemas.dataset import DatasetPublic
from app.services import jobs
from app.services.dataset_stats import example_stats
from app.services.datasets import get_dataset, list_datasets, to_public


@dataclass
class DatasetCard:
    dataset: DatasetPublic
    status_counts: dict[str, int] = field(default_factory=dict)
    open_findings: dict[str, int] = field(default_factory=dict)
    last_analysis: Job | None = None

    @property
    def open_total(self) -> int:
        return sum(self.open_findings.values())


def _status_counts(session: Session, dataset_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(Example.dataset_id, Example.status, func.count())
        .where(Example.dataset_id.in_(dataset_ids)).group_by(Example.dataset_id, Example.status)
    ).all()
    counts: dict[int, dict[str, int]] = {i: {} for i in dataset_ids}
    for dataset_id, status, n in rows:
        counts[dataset_id][status] = n
    return counts


def _open_findings(session: Session, dataset_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(Finding.dataset_id, Finding.check, func.count())
        .where(Finding.dataset_id.in_(dataset_ids), Finding.status == FindingStatus.open)
        .group_by(Finding.dataset_id, Finding.check)
    ).all()
    counts: dict[int, dict[str, int]] = {i: {} for i in dataset_ids}
    for dataset_id, check, n in rows:
        counts[dataset_id][check] = n
    return counts


def _cards(session: Session, datasets: list[DatasetPublic]) -> list[DatasetCard]:
    ids = [d.id for d in datasets]
    if not ids:
        return []
    statuses, findings, analyses = _status_counts(session, ids), _open_findings(session, ids), jobs.latest_jobs(session, ids, JobKind.analyze)
    return [DatasetCard(d, statuses[d.id], findings[d.id], analyses.get(d.id)) for d in datasets]


def dataset_cards(session: Session, *, limit: int = 200, offset: int = 0) -> tuple[list[DatasetCard], int]:
    datasets, total = list_datasets(session, limit=limit, offset=offset)
    return _cards(session, datasets), total


def dataset_card(session: Session, dataset_id: int) -> DatasetCard:
    return _cards(session, [to_public(session, get_dataset(session, dataset_id))])[0]


def distinct_labels(session: Session, dataset_id: int, limit: int = 200, *, allow_stale: bool = False) -> list[str]:
    """Labels in use (for filters and label shortcuts), most frequent first, from the dataset's cached
    counts (app/services/dataset_stats.py); `allow_stale`: as last counted, if this process has counted."""
    stats = example_stats(session, get_dataset(session, dataset_id), allow_stale=allow_stale)
    return stats.labels_by_frequency()[:limit]
