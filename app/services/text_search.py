"""The substring search of the example lists (`q`): case-insensitive "contains", the same on both databases.

Postgres answers it from the pg_trgm GIN indexes of migration 0002_search_indexes (ILIKE uses them).
On SQLite the condition is a bare LIKE (case-insensitive for ASCII, as lower() is, at half the time
of `lower(x) LIKE lower(y)`), narrowed to the candidates of the FTS5 trigram index where that helps
(app/services/search_index.py); the LIKE stays, so both give exactly LIKE's rows.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, literal_column, or_, select, text
from sqlmodel import Session

from app.models import Example
from app.services import search_index

ESCAPE = "\\"


def like_pattern(q: str) -> str:
    """`%q%` with the user's own `%`, `_` and `\\` matched literally."""
    escaped = q.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def contains(dialect_name: str, q: str, *columns):
    """The condition "one of `columns` contains `q`, ignoring case"."""
    pattern = like_pattern(q)
    if dialect_name == "sqlite":
        return or_(*(column.like(pattern, escape=ESCAPE) for column in columns))
    return or_(*(column.ilike(pattern, escape=ESCAPE) for column in columns))


@dataclass
class TextCondition:
    condition: ColumnElement[bool]
    by_index: bool  # the condition's candidates come from SQLite's trigram index: drive the query by id


def example_text_condition(session: Session, q: str) -> TextCondition:
    """"The example's input or output contains `q`", in the form that finds it fastest on this database."""
    dialect = session.get_bind().dialect.name
    condition = contains(dialect, q, Example.input, Example.output)
    plan = search_index.plan(session, q) if dialect == "sqlite" else None
    if plan is None:
        return TextCondition(condition, by_index=False)
    candidates = Example.id.in_(select(literal_column("rowid")).select_from(text("example_search")).where(
        text("example_search MATCH :search_match").bindparams(search_match=plan.match)))
    if plan.indexed_through is not None:  # rows not indexed yet: searched by LIKE over their id range
        candidates = or_(candidates, Example.id > plan.indexed_through)
    return TextCondition(and_(candidates, condition), by_index=True)
