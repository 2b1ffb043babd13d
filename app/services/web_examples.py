"""Queries of the example browser and the example page that the JSON API does not need.

The browser pages with a keyset cursor (the sort key and the id of the last row shown), so the
thousandth page costs what the first does: no OFFSET that scans and throws away rows.
"""

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from app.errors import InvalidInput
from app.models import Dataset, Example, Finding, Revision
from app.schemas.example import ExampleUpdate
from app.services import example_query, paging
from app.services.datasets import get_dataset
from app.services.example_query import FINDING_STATUSES, example_selection, fetch_page
from app.services.paging import SortKey
from app.services.examples import get_example, list_revisions, update_example
from app.services.findings import list_findings

# name -> the keyset order (app/services/paging.py); ties are broken by id in the same direction.
# The highest score of the example's open findings (-1 without one): "score" lists the most suspicious first.
OPEN_SCORE = func.coalesce(
    select(func.max(Finding.score)).where(Finding.example_id == Example.id, Finding.status == "open")
    .correlate(Example).scalar_subquery(), -1.0)
SORTS: dict[str, tuple[SortKey, ...]] = {
    "score": (SortKey(OPEN_SCORE, descending=True), SortKey(Example.id, descending=True)),
    "oldest": (SortKey(Example.id),),
    "newest": (SortKey(Example.id, descending=True),),
    "label": (SortKey(func.coalesce(Example.label, "")), SortKey(Example.id)),
    "updated": (SortKey(Example.updated_at, descending=True, kind="datetime"), SortKey(Example.id, descending=True)),
}
__all__ = ["FINDING_STATUSES", "SORTS", "ExampleFilters", "browse_examples"]


@dataclass
class ExampleFilters(example_query.ExampleFilters):
    """The shared filters (app/services/example_query.py) and the browser's sort."""

    sort: str = "oldest"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}", field="sort")


@dataclass
class ExamplePage:
    items: list[Example]
    total: int | None  # None: not counted with the page (a text search: count_examples counts it)
    next_cursor: str | None
    prev_cursor: str | None
    open_checks: dict[int, list[str]] = field(default_factory=dict)

    @property
    def total_is_capped(self) -> bool:
        return self.total is not None and self.total > paging.COUNT_CAP


def _sort_values(sort: str, example: Example, scores: dict[int, float]) -> list[Any]:
    if sort == "score":
        return [scores[example.id], example.id]
    if sort == "label":
        return [example.label or "", example.id]
    if sort == "updated":
        return [example.updated_at, example.id]
    return [example.id]


def browse_examples(session: Session, dataset_id: int, filters: ExampleFilters, *, after: str | None = None,
                    before: str | None = None, limit: int = 50) -> ExamplePage:
    """One page of the browser, after the cursor `after` or before the cursor `before` (keyset, the same
    paging as the API lists: app/services/paging.py). `total` is capped: COUNT_CAP + 1 means "more".

    A text search in id order is not counted with its page (`total` None, unless the page holds every
    match): the page reads only as far as it needs, and the browser asks count_examples for the count."""
    get_dataset(session, dataset_id)
    keys = SORTS[filters.sort]
    backwards = before is not None
    cursor = paging.decode_cursor(before if backwards else after, keys, field="before" if backwards else "after") \
        if (before or after) else None
    # Another order sorts every match, so the search there is planned for its count, which comes free;
    # a page alone walks upwards from the dataset's first row (example_query.fetch_page).
    page_alone = bool(filters.q) and filters.sort == "oldest"
    selection = example_selection(session, dataset_id, filters, counting=not page_alone)
    conditions = selection.conditions
    sqlite_in_id_order = filters.sort in ("oldest", "newest") and not (filters.status or filters.label) \
        and session.get_bind().dialect.name == "sqlite"

    def page_query(conditions: list):
        conditions = list(conditions)
        if sqlite_in_id_order:
            # Without statistics SQLite reads the dataset through ix_examples_dataset_status and sorts every
            # row to find the first page; `dataset_id + 0` keeps it on the primary key, already in id order.
            conditions[0] = (Example.dataset_id + 0) == dataset_id
        # Sort narrow rows (the sort values and ids), then load the page's examples: sorting whole rows
        # (long texts) is what makes an unindexed sort slow.
        return select(*(key.column for key in keys[:-1]), Example.id).where(*conditions)

    counted = cursor.count if cursor else selection.count  # a rare text's index lookup counts it on the way
    if filters.q and cursor is None and not page_alone:  # a text search: its first page and count in one read
        page, counted = paging.fetch_first_counted(session, page_query(conditions), keys, limit=limit,
                                                   known=selection.count)
    else:
        page = fetch_page(session, dataset_id, selection, page_query, keys,
                          cursor_values=cursor.values if cursor else None, limit=limit, backwards=backwards)
    page_ids = [row.id for row in page.rows]
    scores = {row.id: float(row[0]) for row in page.rows} if filters.sort == "score" else {}
    by_id = {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(page_ids)))} if page_ids else {}
    rows = [by_id[i] for i in page_ids if i in by_id]
    if backwards:
        rows.reverse()
    if counted is None:
        counted = paging.page_count(session, select(Example.id).where(*conditions),
                                    paging.CountMode.none if page_alone else paging.CountMode.capped,
                                    cursor=cursor, shown=len(rows), first_page_is_all=not cursor and not page.more)
    total = None if counted is None else counted.total + (1 if counted.capped else 0)  # "more than COUNT_CAP"
    next_cursor = prev_cursor = None
    if rows:
        if page.more or backwards:
            next_cursor = paging.encode_cursor(_sort_values(filters.sort, rows[-1], scores), counted)
        if (page.more and backwards) or (cursor and not backwards):
            prev_cursor = paging.encode_cursor(_sort_values(filters.sort, rows[0], scores), counted)
    return ExamplePage(rows, total, next_cursor, prev_cursor, _open_checks(session, [e.id for e in rows]))


def count_examples(session: Session, dataset_id: int, filters: ExampleFilters) -> paging.Count:
    """The capped count of the browser's matches: the count a text search's page leaves out."""
    get_dataset(session, dataset_id)
    selection = example_selection(session, dataset_id, filters)
    if selection.count is not None:
        return selection.count
    return paging.count(session, select(Example.id).where(*selection.conditions))


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


EDIT_FIELDS = ("system", "input", "output", "label", "rejected")  # rejected: preference pairs only


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
        if name == "rejected" and example.rejected is None:
            continue  # not a pair (an unpaired KTO example or an SFT pair): there is no second side to edit
        if value != getattr(example, name):
            changes[name] = value
    try:
        data = ExampleUpdate(version=version, **changes)
    except ValidationError as exc:  # e.g. a label longer than the API allows: the form says so, no 500
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{name}: {first['msg']}" if name else first["msg"], field=name) from None
    return update_example(session, example_id, data, author=author)
