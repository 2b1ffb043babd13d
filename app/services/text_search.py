"""The substring search of the example lists (`q`): "contains", ignoring the case of ASCII letters,
the same on both databases.

On SQLite the condition is a bare LIKE (case-insensitive for ASCII, as lower() is, at half the time
of `lower(x) LIKE lower(y)`), narrowed to the candidates of the FTS5 trigram index where that helps
(app/services/search_index.py).

On Postgres it is ILIKE, under the "C" collation of examples.input and examples.output (migration
0013_search_collation), which folds ASCII letters only, as SQLite does, and 2.5x faster than a
libc locale's. The pg_trgm GIN indexes of 0002_search_indexes serve it. Postgres plans a LIMITed
list in id order as a scan of the rows in that order, which reads every row when the text is rare
(a phrase: 3.4 s at 1,000,000 pairs); so a probe of the dataset's first rows measures how common
the text is, and a rare one is looked up in the index first: up to 10,001 matching ids, which are
also its count, then `id = ANY(matching ids)`. A page wanted without a count (`count=none`, the
web browser's search) reads only as far as the page where the probe shows the text often enough
(WALK_FOR_A_PAGE_FROM): a phrase whose words are common has far more index candidates than matches
(21,000 for 5,400 at 1,000,000 rows), and rechecking them all is what its count costs.

Either way the ILIKE/LIKE decides, so every plan gives exactly its rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ARRAY, ColumnElement, Integer, and_, any_, bindparam, func, literal_column, or_, select, text
from sqlmodel import Session

from app.models import Example
from app.services import paging, search_index

ESCAPE = "\\"
# Postgres: a text in fewer than this share of the probed rows is looked up in the trigram index
# first. Reading rows in id order until the capped count is full reads COUNT_CAP / share rows; the
# index reads every candidate row at random, about four times the cost of a row read in order. At
# 1,000,000 rows the two meet near 5% (benchmarks/README.md, "Search ... on Postgres"). The lookup
# stops at COUNT_CAP + 1 matches: a text the probe took for rare but that has more (the first rows
# are not a random sample) is then read in id order, where its matches come often enough.
INDEX_FIRST_BELOW = 0.05
PROBE_ROWS = 2_000
# Postgres, a page without a count: from this share of the probed rows on, a page of 50 reads about
# 10,000 rows in id order or fewer ("command-line tool" at 1,000,000 rows: 21 ms, against 150 ms for
# its index candidates); rarer texts are looked up in the index, whose candidates are then few.
WALK_FOR_A_PAGE_FROM = 0.005
# ...and it walks at most this many ids past where it starts. The probe saw only the first rows: a text
# that is common there and rare after them would otherwise be walked to the dataset's end (a second at
# 1,000,000 rows). A page not full within the window is read again through the index (example_query).
WALK_WINDOW_IDS = 20_000


def like_pattern(q: str) -> str:
    """`%q%` with the user's own `%`, `_` and `\\` matched literally."""
    escaped = q.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def contains(dialect_name: str, q: str, *columns):
    """The condition "one of `columns` contains `q`, ignoring case"."""
    pattern = like_pattern(q)
    if dialect_name == "sqlite":
        return or_(*(column.like(pattern, escape=ESCAPE) for column in columns))
    # "C": ILIKE folds ASCII letters only, as SQLite's LIKE does. examples.input and examples.output
    # already are (migration 0013), so Postgres drops this and their trigram indexes still serve.
    return or_(*(column.collate("C").ilike(pattern, escape=ESCAPE) for column in columns))


@dataclass
class Walk:
    """A page alone, read in id order from the dataset's first row or a cursor, within WALK_WINDOW_IDS.
    `counted` is the text's counted form (the index lookup), for a page the window does not fill."""
    first_id: int
    counted: "Callable[[], TextCondition]"

    def window(self, start: int | None, *, upwards: bool) -> ColumnElement[bool]:
        """The ids a walk from `start` (the cursor's id; None: the dataset's first row) may read."""
        if upwards:
            return Example.id <= (self.first_id - 1 if start is None else start) + WALK_WINDOW_IDS
        if start is None:
            raise ValueError("a downward walk starts at a cursor")
        return Example.id >= start - WALK_WINDOW_IDS


@dataclass
class TextCondition:
    condition: ColumnElement[bool]
    by_index: bool  # the condition's candidates come from an index: drive the query by id
    count: paging.Count | None = None  # Postgres: the capped count of the dataset's matches, found on the way
    walk: Walk | None = None  # Postgres, a page alone: the condition is to be read within this window


def example_text_condition(session: Session, q: str, dataset_id: int, *, counting: bool = True) -> TextCondition:
    """"The example's input or output contains `q`", in the form that finds it fastest on this database:
    for a page and the count of all matches, or (not `counting`) for a page alone."""
    dialect = session.get_bind().dialect.name
    condition = contains(dialect, q, Example.input, Example.output)
    if dialect == "postgresql":
        return _postgres_condition(session, q, dataset_id, condition, counting)
    plan = search_index.plan(session, q) if dialect == "sqlite" else None
    if plan is None:
        return TextCondition(condition, by_index=False)
    candidates = Example.id.in_(select(literal_column("rowid")).select_from(text("example_search")).where(
        text("example_search MATCH :search_match").bindparams(search_match=plan.match)))
    if plan.indexed_through is not None:  # rows not indexed yet: searched by LIKE over their id range
        candidates = or_(candidates, Example.id > plan.indexed_through)
    return TextCondition(and_(candidates, condition), by_index=True)


def _postgres_condition(session: Session, q: str, dataset_id: int, condition, counting: bool) -> TextCondition:
    # The rows a list in id order (the default) reads first: the ones whose density decides its cost.
    probe = (select(Example.id, Example.input, Example.output).where(Example.dataset_id == dataset_id)
             .order_by(Example.id).limit(PROBE_ROWS).subquery())
    probed, matched, first_id = session.execute(select(func.count(), func.count().filter(
        contains("postgresql", q, probe.c.input, probe.c.output)), func.min(probe.c.id))).one()
    if probed < PROBE_ROWS or matched >= INDEX_FIRST_BELOW * probed:  # a small dataset, or a common text
        return TextCondition(condition, by_index=False)
    if not counting and matched >= WALK_FOR_A_PAGE_FROM * probed:
        return TextCondition(_unindexed(q), by_index=False,
                             walk=Walk(first_id, counted=lambda: _looked_up(session, dataset_id, condition)))
    return _looked_up(session, dataset_id, condition)


def _looked_up(session: Session, dataset_id: int, condition) -> TextCondition:
    """The counted form of a rare text: its matching ids, read through the trigram indexes."""
    ids = _matching_ids_from_index(session, select(Example.id).where(Example.dataset_id == dataset_id, condition))
    if len(ids) > paging.COUNT_CAP:
        return TextCondition(condition, by_index=False, count=paging.Count(paging.COUNT_CAP, capped=True))
    # The ids alone: testing the ILIKE again would read every matching row to sort them for the page.
    return TextCondition(Example.id == any_(bindparam("matching_ids", ids, type_=ARRAY(Integer))),
                         by_index=True, count=paging.Count(len(ids)))


def _unindexed(q: str):
    """The condition in a form no trigram index serves (`coalesce` of a column that is never null is the
    column itself), so that Postgres walks the rows in id order and stops at the page's end. Its estimate
    of how many rows a long `%text%` matches is far too low, and with the index it would read and sort
    every candidate first."""
    return contains("postgresql", q, func.coalesce(Example.input, ""), func.coalesce(Example.output, ""))


def _matching_ids_from_index(session: Session, query) -> list[int]:
    """Up to COUNT_CAP + 1 ids that `query` matches, read through the trigram indexes: a bitmap scan that
    stops at the cap. The planner would rather walk the rows in id order, which reads them all when the
    text is rare, because it cannot tell how many rows a `%text%` matches. The two settings that steer it
    are this transaction's (`set_config(..., true)`), and set back at once; if the read fails, the
    transaction's rollback ends them."""
    steer = "set_config('enable_seqscan', :seqscan, true), set_config('enable_indexscan', :indexscan, true)"
    before = session.execute(text(f"SELECT current_setting('enable_seqscan'), current_setting('enable_indexscan'), "
                                  f"{steer}"), {"seqscan": "off", "indexscan": "off"}).one()
    ids = list(session.scalars(query.limit(paging.COUNT_CAP + 1)))
    session.execute(text(f"SELECT {steer}"), {"seqscan": before[0], "indexscan": before[1]})
    return ids
