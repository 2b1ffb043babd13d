"""A dataset's counts by status, label and cleanliness, counted once per change of the dataset.

Counting a million examples takes a second or more, and the health page, the example browser and
the review queue each need these counts. Every change of a dataset's examples or findings goes
through a service that calls `touch`, which bumps `datasets.content_version`; the counts are kept in
this process keyed by (dataset id, content_version), so a page reads the version with the dataset
row it loads anyway and counts again only after a change. Another server process bumps the same
column, so no process serves counts older than the last committed change.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import event, func, select, update
from sqlmodel import Session

from app.checks.registry import DATASET_LEVEL_CHECKS
from app.models import Dataset, Example, ExampleStatus, Finding, FindingStatus

MAX_CACHED_DATASETS = 32
TOUCHED = "winnow_touched_datasets"


@dataclass(frozen=True)
class ExampleStats:
    """(status, label, has an open example-level finding) -> number of examples."""

    groups: dict[tuple[str, str | None, bool], int] = field(default_factory=dict)

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (status, _, _), n in self.groups.items():
            counts[status] = counts.get(status, 0) + n
        return counts

    def labels(self, *, clean_only: bool = False, usable_only: bool = True) -> dict[str, int]:
        """Examples per label; usable = not rejected; clean = usable without an open finding."""
        counts: dict[str, int] = {}
        for (status, label, unclean), n in self.groups.items():
            if label is None or (usable_only and status == ExampleStatus.rejected) or (clean_only and unclean):
                continue
            counts[label] = counts.get(label, 0) + n
        return dict(sorted(counts.items()))

    def labels_by_frequency(self) -> list[str]:
        """Every label in use (any status), most frequent first."""
        counts = self.labels(usable_only=False)
        return sorted(counts, key=lambda label: (-counts[label], label))

    def clean_total(self) -> int:
        return sum(n for (status, _, unclean), n in self.groups.items()
                   if status != ExampleStatus.rejected and not unclean)

    def total(self) -> int:
        return sum(self.groups.values())


_cache: OrderedDict[tuple, ExampleStats] = OrderedDict()
_lock = threading.Lock()


def touch(session: Session, dataset_id: int) -> None:
    """Say that the dataset's examples or findings changed (in the caller's transaction)."""
    # Counts made later in this same transaction see changes that may yet roll back: not cached.
    if TOUCHED not in session.info:
        for name in ("after_commit", "after_rollback"):
            event.listen(session, name, lambda s: s.info.pop(TOUCHED, None), once=True)
    session.info.setdefault(TOUCHED, set()).add(dataset_id)
    session.execute(update(Dataset).where(Dataset.id == dataset_id)
                    .values(content_version=Dataset.content_version + 1)
                    .execution_options(synchronize_session=False))
    dataset = session.get(Dataset, dataset_id)
    if dataset is not None:
        session.expire(dataset, ["content_version"])


def unclean_example_ids(dataset_id: int):
    """Examples with an open finding of a check about the example itself (not class_imbalance)."""
    return select(Finding.example_id).where(Finding.dataset_id == dataset_id, Finding.status == FindingStatus.open,
                                            Finding.check.not_in(DATASET_LEVEL_CHECKS))


def example_stats(session: Session, dataset: Dataset, *, allow_stale: bool = False) -> ExampleStats:
    """The dataset's counts as of its current content_version; with `allow_stale`, the last counts made
    for it if any (for what only orders choices, such as the review queue's label keys)."""
    # created_at too: SQLite may give a deleted dataset's id to the next one, which starts at version 0.
    key = (dataset.id, dataset.created_at, dataset.content_version)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        if allow_stale:
            for (dataset_id, created_at, _), stats in _cache.items():
                if (dataset_id, created_at) == key[:2]:
                    return stats
    stats = _count(session, dataset.id)
    if dataset.id in session.info.get(TOUCHED, ()):
        return stats
    with _lock:
        for stale in [k for k in _cache if k[0] == dataset.id]:
            del _cache[stale]
        _cache[key] = stats
        while len(_cache) > MAX_CACHED_DATASETS:
            _cache.popitem(last=False)
    return stats


def _count(session: Session, dataset_id: int) -> ExampleStats:
    # Every example: one streaming pass over the (dataset_id, status, label) index, no row read.
    everyone = session.execute(
        select(Example.status, Example.label, func.count()).where(Example.dataset_id == dataset_id)
        .group_by(Example.status, Example.label)
    ).all()
    # The unclean ones, found from the findings (a few percent of the rows) through the primary key.
    # `dataset_id + 0`: SQLite without statistics would otherwise read the dataset's whole index.
    unclean = dict(((status, label), n) for status, label, n in session.execute(
        select(Example.status, Example.label, func.count())
        .where((Example.dataset_id + 0) == dataset_id, Example.id.in_(unclean_example_ids(dataset_id)))
        .group_by(Example.status, Example.label)
    ).all())
    groups: dict[tuple[str, str | None, bool], int] = {}
    for status, label, n in everyone:
        flagged = unclean.get((status, label), 0)
        if flagged:
            groups[(status, label, True)] = flagged
        if n - flagged:
            groups[(status, label, False)] = n - flagged
    return ExampleStats(groups)


def forget_all() -> None:
    """Drop every cached count (tests that rewrite tables behind the services' back)."""
    with _lock:
        _cache.clear()
