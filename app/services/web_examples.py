"""Queries of the example browser and the example page that the JSON API does not need.

The browser pages with a keyset cursor (the sort key and the id of the last row shown), so the
thousandth page costs what the first does: no OFFSET that scans and throws away rows.
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import String, cast, func, or_, select, tuple_
from sqlmodel import Session

from app.errors import InvalidInput
from app.models import Dataset, Example, Finding, Revision
from app.schemas.example import ExampleUpdate
from app.services.datasets import get_dataset
from app.services.examples import get_example, list_revisions, update_example
from app.services.findings import list_findings

# The highest score of the example's open findings (-1 without one): "score" shows the most suspicious first.
OPEN_SCORE = func.coalesce(
    select(func.max(Finding.score)).where(Finding.example_id == Example.id, Finding.status == "open")
    .correlate(Example).scalar_subquery(), -1.0)
# name -> (sort column, descending?); ties are broken by id in the same direction.
SORTS: dict[str, tuple[Any, bool]] = {
    "score": (OPEN_SCORE, True),
    "oldest": (Example.id, False),
    "newest": (Example.id, True),
    "label": (func.coalesce(Example.label, ""), False),
    "updated": (Example.updated_at, True),
}
FINDING_STATUSES = ("open", "dismissed", "resolved")
COUNT_CAP = 10_000


@dataclass
class ExampleFilters:
    q: str | None = None
    status: str | None = None
    label: str | None = None
    check: str | None = None
    finding_status: str | None = None
    sort: str = "oldest"
    meta_key: str | None = None     # with meta_value: metadata[meta_key] equals it (as text); alone: the key is set
    meta_value: str | None = None
    min_score: float | None = None  # an open finding (of `check`, if given) scoring at least / at most this
    max_score: float | None = None
    min_length: int | None = None   # the input's length in characters
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", field="sort")
        if self.finding_status and self.finding_status not in FINDING_STATUSES:
            raise InvalidInput(f"finding_status must be one of {', '.join(FINDING_STATUSES)}", field="finding_status")


@dataclass
class ExamplePage:
    items: list[Example]
    total: int
    next_cursor: str | None
    prev_cursor: str | None
    open_checks: dict[int, list[str]] = field(default_factory=dict)

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP


def _encode(sort: str, example: Example, score: float | None = None) -> str:
    value: Any = example.id
    if sort == "score":
        value = score
    if sort == "label":
        value = example.label or ""
    elif sort == "updated":
        value = example.updated_at.isoformat()
    return base64.urlsafe_b64encode(json.dumps([value, example.id]).encode()).decode()


def _decode(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        value, example_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if sort == "updated":
            value = datetime.fromisoformat(value)
        elif sort == "score":
            value = float(value)
        return value, int(example_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("the page cursor is not valid; go back to the first page", field="after") from exc


def _conditions(dataset_id: int, f: ExampleFilters) -> list:
    conditions = [Example.dataset_id == dataset_id]
    if f.status:
        conditions.append(Example.status == f.status)
    if f.label:
        conditions.append(Example.label == f.label)
    if f.check or f.finding_status:
        findings = select(Finding.example_id).where(Finding.dataset_id == dataset_id)
        if f.check:
            findings = findings.where(Finding.check == f.check)
        findings = findings.where(Finding.status == (f.finding_status or "open"))
        conditions.append(Example.id.in_(findings))
    if f.q:
        pattern = f"%{f.q}%"
        conditions.append(or_(Example.input.ilike(pattern), Example.output.ilike(pattern)))
    if f.meta_key:
        value = Example.meta[f.meta_key].as_string()
        conditions.append(value.is_not(None) if f.meta_value is None else cast(value, String) == f.meta_value)
    if f.min_score is not None or f.max_score is not None:
        scored = select(Finding.example_id).where(Finding.dataset_id == dataset_id, Finding.status == "open")
        if f.check:
            scored = scored.where(Finding.check == f.check)
        if f.min_score is not None:
            scored = scored.where(Finding.score >= f.min_score)
        if f.max_score is not None:
            scored = scored.where(Finding.score <= f.max_score)
        conditions.append(Example.id.in_(scored))
    if f.min_length is not None:
        conditions.append(func.length(Example.input) >= f.min_length)
    if f.max_length is not None:
        conditions.append(func.length(Example.input) <= f.max_length)
    return conditions


def browse_examples(session: Session, dataset_id: int, filters: ExampleFilters, *, after: str | None = None,
                    before: str | None = None, limit: int = 50) -> ExamplePage:
    get_dataset(session, dataset_id)
    column, descending = SORTS[filters.sort]
    conditions = _conditions(dataset_id, filters)
    # Counting stops at COUNT_CAP: beyond it the page says "10,000+" instead of scanning every match
    # (a substring search over 100,000 long texts would otherwise be read twice).
    capped = select(Example.id).where(*conditions).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    if filters.sort in ("oldest", "newest") and session.get_bind().dialect.name == "sqlite":
        # Without statistics SQLite reads the dataset through ix_examples_dataset_status and sorts every
        # row to find the first page; `dataset_id + 0` keeps it on the primary key, already in id order.
        conditions[0] = (Example.dataset_id + 0) == dataset_id
    query = select(Example).where(*conditions)
    backwards = before is not None
    cursor = before if backwards else after
    # Paging backwards walks the same order reversed, then flips the rows back.
    walk_descending = descending != backwards
    if filters.sort in ("oldest", "newest"):
        key = Example.id
        if cursor:
            _, last_id = _decode(filters.sort, cursor)
            query = query.where(key < last_id if walk_descending else key > last_id)
        order = [key.desc() if walk_descending else key.asc()]
    else:
        key = tuple_(column, Example.id)
        if cursor:
            bound = tuple_(*_decode(filters.sort, cursor))
            query = query.where(key < bound if walk_descending else key > bound)
        order = [column.desc(), Example.id.desc()] if walk_descending else [column.asc(), Example.id.asc()]
    # Sort narrow rows (ids), then load the page's examples: sorting whole rows (long texts) is what
    # makes an unindexed sort slow.
    page_ids = list(session.scalars(query.with_only_columns(Example.id).order_by(*order).limit(limit + 1)))
    by_id = {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(page_ids)))} if page_ids else {}
    rows = [by_id[i] for i in page_ids]
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    scores = dict(session.execute(select(Example.id, OPEN_SCORE).where(Example.id.in_([rows[0].id, rows[-1].id])))
                  .all()) if rows and filters.sort == "score" else {}
    next_cursor = prev_cursor = None
    if rows:
        if more or backwards:
            next_cursor = _encode(filters.sort, rows[-1], scores.get(rows[-1].id))
        if (more and backwards) or (cursor and not backwards):
            prev_cursor = _encode(filters.sort, rows[0], scores.get(rows[0].id))
    return ExamplePage(rows, total, next_cursor, prev_cursor, _open_checks(session, [e.id for e in rows]))


def _open_checks(session: Session, example_ids: list[int]) -> dict[int, list[str]]:
    if not example_ids:
        return {}
    checks: dict[int, list[str]] = {}
    rows = session.execute(
        select(Finding.example_id, Finding.check).where(Finding.example_id.in_(example_ids), Finding.status == "open")
        .order_by(Finding.check)
    ).all()
    for example_id, check in rows:
        checks.setdefault(example_id, []).append(check)
    return checks


def checks_in_use(session: Session, dataset_id: int) -> list[str]:
    return list(session.scalars(select(Finding.check).where(Finding.dataset_id == dataset_id).distinct()
                                .order_by(Finding.check)))


@dataclass
class ExampleView:
    example: Example
    dataset: Dataset
    revisions: list[Revision]
    findings: list[Finding]


def example_view(session: Session, example_id: int) -> ExampleView:
    example = get_example(session, example_id)
    findings, _ = list_findings(session, example.dataset_id, example_id=example_id, limit=1000)
    return ExampleView(example, get_dataset(session, example.dataset_id),
                       list(reversed(list_revisions(session, example_id))), findings)


EDIT_FIELDS = ("system", "input", "output", "label")


def save_edit(session: Session, example_id: int, version: int, values: dict[str, str | None], author: str) -> Example:
    """Apply the fields of the edit form that differ from what is stored; a stale version is a Conflict."""
    example = get_example(session, example_id)
    changes: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        if name not in values or values[name] is None:
            continue
        value = values[name].replace("\r\n", "\n")
        if name in ("system", "label") and not value.strip():
            value = None
        if value != getattr(example, name):
            changes[name] = value
    try:
        data = ExampleUpdate(version=version, **changes)
    except ValidationError as exc:  # e.g. a label longer than the API allows: the form says so, no 500
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{name}: {first['msg']}" if name else first["msg"], field=name) from None
    return update_example(session, example_id, data, author=author)
