"""Keyset paging and bounded counts, shared by every list (API examples and findings, the web
example browser, the review queues).

A page is found by the sort key of the last row shown (the cursor), never by OFFSET: the
thousandth page costs what the first does. The cursor is opaque to clients: base64 of a JSON array
of the sort values, the last of which is always the row's id, so rows with equal sort values
(ties) still have one strict order and none is skipped or shown twice.

Counting every match of a 1,000,000-row dataset costs a scan on each request, so a list counts at
most COUNT_CAP + 1 matches: `total` is exact up to COUNT_CAP and `total_capped` says it is
"COUNT_CAP or more" beyond. The first page of a walk counts; its cursors carry that count, so the
next pages count nothing (their `total` is as of the first page). A first page that shows every
match needs no count at all. `count=exact` (one scan, what every request used to pay) is there
for a client that needs it, and `count=none` for one that pages without a total: then a text search
reads only as far as its page (app/services/text_search.py), and the web browser shows a search's
page at once and fetches its count by a second request.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlmodel import Session

from app.errors import InvalidInput

COUNT_CAP = 10_000


class CountMode(StrEnum):
    capped = "capped"  # exact up to COUNT_CAP, then "COUNT_CAP or more"
    exact = "exact"  # every match counted (a scan of all of them)
    none = "none"  # not counted: `total` is null (unless the first page holds every match)


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order; `kind` turns a cursor's JSON value back into the column's type."""

    column: Any
    descending: bool = False
    kind: str = "plain"  # plain | datetime


@dataclass
class Count:
    total: int
    capped: bool = False


@dataclass
class Cursor:
    """Where the next page starts, and the count the walk's first page made (so later pages count nothing)."""

    values: list[Any]
    count: Count | None = None


def encode_cursor(values: Sequence[Any], count: Count | None = None) -> str:
    plain: dict[str, Any] = {"after": [v.isoformat() if isinstance(v, datetime) else v for v in values]}
    if count is not None:
        plain["total"], plain["capped"] = count.total, count.capped
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey], field: str = "cursor") -> Cursor:
    """A cursor made by encode_cursor for the same `keys`; InvalidInput if it is not one."""
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        values = plain["after"]
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong length")
        decoded = []
        for key, value in zip(keys, values):
            if key.kind == "datetime":
                value = datetime.fromisoformat(value)
            elif isinstance(value, (dict, list)):
                raise ValueError("not a scalar")
            decoded.append(value)
        if not isinstance(decoded[-1], int) or isinstance(decoded[-1], bool):
            raise ValueError("the last value is an id")
        count = None
        if isinstance(plain.get("total"), int) and plain["total"] >= 0:
            count = Count(plain["total"], capped=plain.get("capped") is True)
        return Cursor(decoded, count)
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput("the page cursor is not valid; start again from the first page "
                           "(use the next_cursor of an answer as it is)", field=field) from exc


def after(keys: Sequence[SortKey], values: Sequence[Any], *, backwards: bool = False):
    """The condition "comes after `values` in the order of `keys`" (before, when `backwards`).

    Written as (k1 > v1) OR (k1 = v1 AND k2 > v2) ..., which works with mixed directions and lets
    both databases use an index whose leading columns are the equality filters.
    """
    clauses = []
    for index, key in enumerate(keys):
        forward = key.descending == backwards
        step = key.column > values[index] if forward else key.column < values[index]
        clauses.append(and_(*[keys[i].column == values[i] for i in range(index)], step))
    return or_(*clauses)


def order_by(keys: Sequence[SortKey], *, backwards: bool = False) -> list:
    return [key.column.desc() if key.descending != backwards else key.column.asc() for key in keys]


def count(session: Session, query: Select, mode: CountMode = CountMode.capped) -> Count | None:
    """How many rows `query` matches: all of them (exact), at most COUNT_CAP + 1 (capped) or none."""
    if mode is CountMode.none:
        return None
    if mode is CountMode.exact:
        return Count(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
    bounded = query.order_by(None).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(bounded)) or 0
    return Count(min(total, COUNT_CAP), capped=total > COUNT_CAP)


def fetch_first_counted(session: Session, query: Select, keys: Sequence[SortKey], *, limit: int,
                        known: Count | None = None) -> "tuple[KeysetPage, Count]":
    """The first page and the capped count in one statement, for a text search: both must read (and
    recheck) the same matching rows. The database counts the first COUNT_CAP + 1 rows in page order
    (a window count) and returns the page alone, so Python handles `limit` rows, not 10,000.
    `known`: the count the search already made (app/services/text_search.py); the page alone is read."""
    if known is not None:
        return fetch(session, query, keys, cursor_values=None, limit=limit), known
    first = query.order_by(*order_by(keys)).limit(COUNT_CAP + 1).subquery()
    columns = list(first.c)  # a keyset query selects its sort keys' columns, in order (the id last)
    ordered = [column.desc() if key.descending else column.asc() for column, key in zip(columns, keys, strict=True)]
    rows = list(session.execute(select(*columns, func.count().over().label("matches"))
                                .order_by(*ordered).limit(limit + 1)))
    total = rows[0].matches if rows else 0
    return KeysetPage(rows[:limit], more=len(rows) > limit), Count(min(total, COUNT_CAP), capped=total > COUNT_CAP)


def page_count(session: Session, query: Select, mode: CountMode, *, cursor: Cursor | None, first_page_is_all: bool,
               shown: int) -> Count | None:
    """The count a list reports with a page: the one its cursor carries (capped), the page's own rows
    when the first page holds every match, or `count(query, mode)`."""
    if cursor is not None and cursor.count is not None and mode is CountMode.capped:
        return cursor.count
    if first_page_is_all:
        return Count(shown)
    return count(session, query, mode)


def needs_count(mode: CountMode, cursor: Cursor | None) -> bool:
    """Whether the list must count its matches for this page (the cursor may carry the count)."""
    if mode is CountMode.none:
        return False
    return mode is CountMode.exact or cursor is None or cursor.count is None


@dataclass
class KeysetPage:
    rows: list
    more: bool  # another page follows in the walking direction


def fetch(session: Session, query: Select, keys: Sequence[SortKey], *, cursor_values: Sequence[Any] | None,
          limit: int, backwards: bool = False) -> KeysetPage:
    """One page of `query` (a select of the rows' ids) after `cursor_values` in `keys` order."""
    if cursor_values is not None:
        query = query.where(after(keys, cursor_values, backwards=backwards))
    rows = list(session.execute(query.order_by(*order_by(keys, backwards=backwards)).limit(limit + 1)))
    return KeysetPage(rows[:limit], more=len(rows) > limit)
