"""A dataset's counts by status, label and cleanliness, counted once per change of the dataset.

Counting a million examples takes a second or more, and the health page, the example browser and
the review queue each need these counts. Every change of a dataset's examples or findings goes
through a service that calls `touch`, which bumps `datasets.content_version`; the counts are kept in
this process keyed by (dataset id, content_version), so a page reads the version with the dataset
row it loads anyway and counts again only after a change. Another server process bumps the same
column, so no process serves counts older than the last committed change.

A change of a few examples (an edit, a verdict, a deletion) also logs what it did to the counts in
`dataset_changes` ([status, label, unclean, +-n] per group). After such changes a server that has
counts of an earlier version adds the logged deltas to them, a few rows read instead of a million
counted; an import or an analysis logs no delta, and the next view counts again.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, event, exists, func, insert, select, update
from sqlmodel import Session

from app.checks.registry import DATASET_LEVEL_CHECKS
from app.models import Dataset, DatasetChange, Example, ExampleStatus, Finding, FindingStatus

MAX_CACHED_DATASETS = 32
TOUCHED = "winnow_touched_datasets"
KEPT_CHANGES = 1000  # change rows kept per dataset; a server further behind than this counts again
MAX_DELTA_ROWS = 5000  # more changes than this since the last count: counting again is as cheap

Group = tuple[str, str | None, bool]  # (status, label, has an open example-level finding)


@dataclass(frozen=True)
class ExampleStats:
    """(status, label, has an open example-level finding) -> number of examples."""

    groups: dict[Group, int] = field(default_factory=dict)

    def plus(self, delta: list[list]) -> "ExampleStats":
        groups = dict(self.groups)
        for status, label, unclean, n in delta:
            key = (status, label, bool(unclean))
            groups[key] = groups.get(key, 0) + n
            if not groups[key]:
                del groups[key]
        return ExampleStats(groups)

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


def touch(session: Session, dataset_id: int, delta: list[list] | None = None) -> None:
    """Say that the dataset's examples or findings changed (in the caller's transaction). `delta`: what the
    change did to the counts (`group_delta`), or None when it may have changed anything."""
    # Counts made later in this same transaction see changes that may yet roll back: not cached.
    if TOUCHED not in session.info:
        for name in ("after_commit", "after_rollback"):
            event.listen(session, name, lambda s: s.info.pop(TOUCHED, None), once=True)
    session.info.setdefault(TOUCHED, set()).add(dataset_id)
    session.execute(update(Dataset).where(Dataset.id == dataset_id)
                    .values(content_version=Dataset.content_version + 1)
                    .execution_options(synchronize_session=False))
    version = session.scalar(select(Dataset.content_version).where(Dataset.id == dataset_id))
    session.execute(insert(DatasetChange).values(dataset_id=dataset_id, version=version, delta=delta))
    if version % 100 == 0:
        session.execute(delete(DatasetChange).where(DatasetChange.dataset_id == dataset_id,
                                                    DatasetChange.version <= version - KEPT_CHANGES))
    dataset = session.get(Dataset, dataset_id)
    if dataset is not None:
        session.expire(dataset, ["content_version"])


def changing(session: Session, dataset_id: int, example_id: int) -> Callable[[], None]:
    """Call before changing one example or its findings, and call what it returns after the change is
    flushed: that touches the dataset with the example's count delta. The dataset row is locked first
    (Postgres; SQLite writers are serial anyway), so "before" and "after" see no other writer's change."""
    session.execute(select(Dataset.id).where(Dataset.id == dataset_id).with_for_update())
    before = group_of(session, example_id)

    def changed() -> None:
        touch(session, dataset_id, group_delta(before, group_of(session, example_id)))

    return changed


def group_of(session: Session, example_id: int) -> Group | None:
    """The example's count group now (None if it does not exist): read before and after a change."""
    row = session.execute(select(Example.status, Example.label).where(Example.id == example_id)).first()
    if row is None:
        return None
    unclean = session.scalar(select(exists().where(
        Finding.example_id == example_id, Finding.status == FindingStatus.open,
        Finding.check.not_in(DATASET_LEVEL_CHECKS))))
    return (str(row[0]), row[1], bool(unclean))


def group_delta(before: Group | None, after: Group | None) -> list[list]:
    """The count delta of one example moving from group `before` to `after` (None: absent)."""
    if before == after:
        return []
    return ([[*before, -1]] if before else []) + ([[*after, 1]] if after else [])


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
        earlier = max(((k, v) for k, v in _cache.items() if k[:2] == key[:2] and k[2] < key[2]),
                      default=None, key=lambda item: item[0][2])
    stats = _since(session, dataset.id, *(earlier or ((None, None, None), None)), key[2])
    if stats is None:
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


def _since(session: Session, dataset_id: int, earlier_key: tuple, earlier: ExampleStats | None,
           version: int) -> ExampleStats | None:
    """The counts at `version` from those of an earlier version plus the logged deltas in between; None
    when a change in between logged none (or they are gone, or too many)."""
    if earlier is None or version - earlier_key[2] > MAX_DELTA_ROWS:
        return None
    changes = session.execute(select(DatasetChange.delta).where(
        DatasetChange.dataset_id == dataset_id, DatasetChange.version > earlier_key[2],
        DatasetChange.version <= version)).scalars().all()
    if len(changes) != version - earlier_key[2] or any(delta is None for delta in changes):
        return None
    return earlier.plus([row for delta in changes for row in delta])


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
