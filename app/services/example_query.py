"""The one definition of which examples a filter selects: the JSON API's list and the example browser
both build their queries from `example_conditions`."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, select
from sqlmodel import Session

from app.errors import InvalidInput
from app.models import Example, Finding, FindingStatus
from app.services import paging
from app.services.paging import Count, KeysetPage, SortKey
from app.services.text_search import TextCondition, Walk, example_text_condition

FINDING_STATUSES = tuple(s.value for s in FindingStatus)


@dataclass
class ExampleFilters:
    q: str | None = None  # text contained in the input or the output
    status: str | None = None
    label: str | None = None
    check: str | None = None  # examples with a finding of this check...
    finding_status: str | None = None  # ...in this status (open when only `check` is given)
    meta_key: str | None = None     # with meta_value: metadata[meta_key] equals it (as text); alone: the key is set
    meta_value: str | None = None
    min_score: float | None = None  # an open finding (of `check`, if given) scoring at least / at most this
    max_score: float | None = None
    min_length: int | None = None   # the input's length in characters
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.finding_status and self.finding_status not in FINDING_STATUSES:
            raise InvalidInput(f"finding_status must be one of {', '.join(FINDING_STATUSES)}", field="finding_status")


@dataclass
class ExampleSelection:
    conditions: list[ColumnElement[bool]]  # the first is the dataset's
    count: Count | None = None  # the capped count, when the text search found it on the way
    walk: Walk | None = None  # a text search's page alone, read in id order within a window (fetch_page)


def example_conditions(session: Session, dataset_id: int, filters: ExampleFilters) -> list[ColumnElement[bool]]:
    """WHERE conditions selecting the dataset's examples that match `filters`; the first is the dataset's."""
    return example_selection(session, dataset_id, filters).conditions


def example_selection(session: Session, dataset_id: int, filters: ExampleFilters, *,
                      counting: bool = True) -> ExampleSelection:
    """The conditions of `example_conditions`, and how to count them. The database picks the form of the
    text search (app/services/text_search.py), which may differ when no count is wanted (`counting`)."""
    conditions: list[ColumnElement[bool]] = [Example.dataset_id == dataset_id]
    if filters.status:
        conditions.append(Example.status == filters.status)
    if filters.label:
        conditions.append(Example.label == filters.label)
    if filters.check or filters.finding_status:
        findings = select(Finding.example_id).where(Finding.dataset_id == dataset_id,
                                                    Finding.status == (filters.finding_status or FindingStatus.open))
        if filters.check:
            findings = findings.where(Finding.check == filters.check)
        conditions.append(Example.id.in_(findings))
    if filters.meta_key:
        value = Example.meta[filters.meta_key].as_string()
        wanted = filters.meta_value
        conditions.append(value.is_not(None) if wanted is None else cast(value, String) == wanted)
    if filters.min_score is not None or filters.max_score is not None:
        scored = select(Finding.example_id).where(Finding.dataset_id == dataset_id,
                                                  Finding.status == FindingStatus.open)
        if filters.check:
            scored = scored.where(Finding.check == filters.check)
        if filters.min_score is not None:
            scored = scored.where(Finding.score >= filters.min_score)
        if filters.max_score is not None:
            scored = scored.where(Finding.score <= filters.max_score)
        conditions.append(Example.id.in_(scored))
    if filters.min_length is not None:
        conditions.append(func.length(Example.input) >= filters.min_length)
    if filters.max_length is not None:
        conditions.append(func.length(Example.input) <= filters.max_length)
    if not filters.q:
        return ExampleSelection(conditions)
    # Last, so that what it may skip is known: a page alone is walked in id order only when the text
    # is the only filter (another one would lengthen the walk by its selectivity, unknown here).
    alone = len(conditions) == 1
    text_condition = example_text_condition(session, filters.q, dataset_id, counting=counting or not alone)
    return ExampleSelection(_with_text(conditions, text_condition, dataset_id),
                            text_condition.count if alone else None, text_condition.walk)


def _with_text(conditions: list, text_condition: TextCondition, dataset_id: int) -> list:
    """`conditions` and the text's last."""
    conditions = [*conditions, text_condition.condition]
    if text_condition.by_index:
        # The index's candidate ids lead: `+ 0` keeps the database off the dataset's indexes,
        # which would have it read every row of the dataset and test each id against the candidates.
        conditions[0] = (Example.dataset_id + 0) == dataset_id
    return conditions


def fetch_page(session: Session, dataset_id: int, selection: ExampleSelection, query_of: Callable[[list], Select],
               keys: Sequence[SortKey], *, cursor_values: Sequence[Any] | None, limit: int,
               backwards: bool = False) -> KeysetPage:
    """paging.fetch of the rows `query_of(conditions)` selects, in `keys` (the id, for a walk). A text search's
    page alone (`selection.walk`) reads only the walk's window of ids past where it starts; a page that is
    not full there is read again with the text's counted form, which the trigram index serves."""
    walk = selection.walk
    if walk is None:
        return paging.fetch(session, query_of(selection.conditions), keys, cursor_values=cursor_values,
                            limit=limit, backwards=backwards)
    start = cursor_values[-1] if cursor_values else None
    window = walk.window(start, upwards=keys[0].descending == backwards)
    page = paging.fetch(session, query_of([*selection.conditions, window]), keys, cursor_values=cursor_values,
                        limit=limit, backwards=backwards)
    if page.more:
        return page
    counted = _with_text(selection.conditions[:-1], walk.counted(), dataset_id)  # the text's is the last
    return paging.fetch(session, query_of(counted), keys, cursor_values=cursor_values, limit=limit,
                        backwards=backwards)
