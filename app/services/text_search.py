"""The substring search of the example lists (`q`): case-insensitive "contains", the same on both databases.

Postgres answers it from the pg_trgm GIN indexes of migration 0002_search_indexes (ILIKE uses them).
SQLite reads every row of the dataset for it: its LIKE is already case-insensitive for ASCII, as
lower() is, so the condition is a bare LIKE (half the time of `lower(x) LIKE lower(y)`). An FTS5
trigram index would answer it, but measured on 100,000 Debian pairs it made the import 29 times
slower (benchmarks/README.md), so SQLite has none.
"""

from sqlalchemy import or_

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
