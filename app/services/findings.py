"""Findings: list, dismiss/resolve, and the replacement of a dataset's open findings after a run."""

import json
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from app.checks.base import FindingDraft
from app.db import driver_param, fetch_all_raw, refresh_planner_statistics
from app.errors import InvalidInput
from app.models import Example, Finding, FindingStatus, utcnow
from app.services.datasets import get_dataset
from app.services import dataset_stats, paging
from app.services.common import get_or_not_found, paged
from app.services.paging import CountMode, SortKey

# A person's verdict sticks while the example is unchanged: a re-run does not reopen these.
STICKY_STATUSES = (FindingStatus.dismissed, FindingStatus.resolved)


def list_findings(
    session: Session, dataset_id: int, check: str | None = None, status: str | None = None,
    limit: int = 50, offset: int = 0, example_id: int | None = None,
) -> tuple[list[Finding], int]:
    get_dataset(session, dataset_id)
    query = select(Finding).where(Finding.dataset_id == dataset_id)
    if check:
        query = query.where(Finding.check == check)
    if status:
        query = query.where(Finding.status == status)
    if example_id is not None:
        query = query.where(Finding.example_id == example_id)
    items, total = paged(session, query, Finding.score.desc(), Finding.id, limit=limit, offset=offset)
    return items, total


# The order of every findings list: highest score first, ties in id order.
FINDING_ORDER = (SortKey(Finding.score, descending=True), SortKey(Finding.id))


@dataclass
class FindingList:
    items: list[Finding]
    total: int | None  # None: not counted (count=none)
    total_capped: bool
    next_cursor: str | None


def page_findings(
    session: Session, dataset_id: int, *, check: str | None = None, status: str | None = None,
    limit: int = 50, offset: int = 0, cursor: str | None = None, count: CountMode = CountMode.capped,
) -> FindingList:
    """One page of findings in FINDING_ORDER after `cursor` (keyset) or `offset` rows; see app/services/paging.py."""
    get_dataset(session, dataset_id)
    position = paging.decode_cursor(cursor, FINDING_ORDER) if cursor else None
    query = select(Finding.id, Finding.score).where(Finding.dataset_id == dataset_id)
    if check:
        query = query.where(Finding.check == check)
    if status:
        query = query.where(Finding.status == status)
    walk = query.offset(offset) if offset and position is None else query
    page = paging.fetch(session, walk, FINDING_ORDER, cursor_values=position.values if position else None,
                        limit=limit)
    counted = paging.page_count(session, query, count, cursor=position, shown=len(page.rows),
                                first_page_is_all=position is None and not offset and not page.more)
    ids = [row.id for row in page.rows]
    by_id = {f.id: f for f in session.scalars(select(Finding).where(Finding.id.in_(ids)))} if ids else {}
    items = [by_id[i] for i in ids if i in by_id]
    last = page.rows[-1] if page.rows else None
    next_cursor = paging.encode_cursor([last.score, last.id], counted) if page.more and last else None
    return FindingList(items, counted.total if counted else None, bool(counted and counted.capped), next_cursor)


def get_finding(session: Session, finding_id: int) -> Finding:
    return get_or_not_found(session, Finding, finding_id, "finding")


def update_finding(session: Session, finding_id: int, status: str) -> Finding:
    if status not in {s.value for s in FindingStatus}:
        raise InvalidInput(f"status must be one of open, dismissed, resolved (got '{status}')", field="status")
    finding = get_finding(session, finding_id)
    if finding.status == status:
        return finding
    changed = dataset_stats.changing(session, finding.dataset_id, finding.example_id)
    finding.status = status
    finding.updated_at = utcnow()
    session.add(finding)
    session.flush()
    changed()
    return finding


def replace_open_findings(
    session: Session, dataset_id: int, drafts: list[FindingDraft], versions: dict[int, int], job_id: int | None,
) -> dict[str, int]:
    """Make the dataset's open findings those of `drafts`, keeping people's verdicts.

    A draft for (example, check) that a person already dismissed or resolved at the example's
    current version is dropped: the dismissal stands. Drafts of examples deleted meanwhile are
    dropped too. `versions` maps example id -> version the analysis saw.

    An open finding equal to a draft (example, check, version, score and details) is kept as it is,
    with the job and the time that first found it; only the others are deleted and inserted. After a
    small edit of a large dataset that is a few rows written instead of every finding again.
    """
    live = dict(session.execute(select(Example.id, Example.version).where(Example.dataset_id == dataset_id)).all())
    sticky = set(session.execute(
        select(Finding.example_id, Finding.check, Finding.example_version)
        .where(Finding.dataset_id == dataset_id, Finding.status.in_(STICKY_STATUSES))
    ).all())
    existing: dict[tuple, list[int]] = {}
    for finding_id, *key in fetch_all_raw(session, OPEN_FINDINGS_SQL.format(param=driver_param(session)),
                                          (dataset_id, FindingStatus.open.value)):
        existing.setdefault(_identity(*key), []).append(finding_id)
    now = utcnow()
    rows, kept_dismissed, kept = [], 0, 0
    for draft in drafts:
        if draft.example_id not in live:
            continue
        version = versions.get(draft.example_id, live[draft.example_id])
        if (draft.example_id, draft.check, live[draft.example_id]) in sticky:
            kept_dismissed += 1
            continue
        score = float(min(1.0, max(0.0, draft.score)))
        same = existing.get(_identity(draft.example_id, draft.check, version, score, draft.details))
        if same:
            same.pop()
            kept += 1
            continue
        rows.append({"dataset_id": dataset_id, "example_id": draft.example_id, "check": draft.check,
                     "score": score, "details": draft.details,
                     "status": FindingStatus.open.value, "job_id": job_id, "example_version": version,
                     "created_at": now, "updated_at": now})
    gone = [finding_id for ids in existing.values() for finding_id in ids]
    for start in range(0, len(gone), 5000):
        session.execute(delete(Finding).where(Finding.id.in_(gone[start : start + 5000])))
    for start in range(0, len(rows), 5000):
        session.execute(insert(Finding), rows[start : start + 5000])
    session.flush()
    refresh_planner_statistics(session, "findings", len(gone) + len(rows))
    dataset_stats.touch(session, dataset_id)
    return {"open": len(rows) + kept, "kept_dismissed": kept_dismissed, "unchanged": kept}


OPEN_FINDINGS_SQL = ("SELECT id, example_id, \"check\", example_version, score, details FROM findings "
                     "WHERE dataset_id = {param} AND status = {param}")


def _identity(example_id: int, check: str, version: int, score: float, details) -> tuple:
    """What makes two findings the same: details compared as the JSON they are stored as (psycopg gives
    parsed JSON, sqlite3 text; a draft's tuples are lists once stored)."""
    if isinstance(details, str):
        details = json.loads(details)
    return example_id, check, version, score, json.dumps(details, sort_keys=True, default=str)
