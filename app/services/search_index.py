"""SQLite's index for the example search (`q`): FTS5 trigrams, filled in the background, rechecked by LIKE.

Why: SQLite's `LIKE '%word%'` reads every row of a dataset when the word is rare or absent, about
0.4-0.9 s at 1,000,000 pairs. This index finds the rows holding the word's rarest trigrams instead.
Postgres has pg_trgm (migration 0002_search_indexes) and does not use this module.

What it is (migration 0012_example_search):
- `example_search`: FTS5 with the trigram tokenizer, contentless, `detail=none`: under each example's
  id, the set of trigrams (case folded) of its input and output. No text and no positions, so it
  only proposes candidates; a search keeps its LIKE condition, so it returns exactly what LIKE does.
- `example_search_state.indexed_through`: every example at or below this id is in the index. Rows
  above it are searched by LIKE over that primary-key range: a search is exact at every moment,
  also while an import's rows wait to be indexed.

How it stays right:
- Filling: `fill` indexes the rows above the watermark in transactions of FILL_CHUNK_ROWS rows
  (well under a second each), never inside an import, so imports keep their speed and another
  writer waits at most one chunk. `SearchIndexer` runs it in each server process, every
  POLL_SECONDS, so rows written by an import, the CLI or another process are indexed soon after.
- Edits: a trigger adds the new text's trigrams under the same id. FTS5 answers each trigram from
  the newest entry of an id; trigrams only the old text had stay, as candidates the LIKE drops.
- New rows at or below the watermark (SQLite gives a new row the largest id + 1, so after deleting
  the newest rows their ids come back): a trigger indexes them.
- Deletions leave their trigrams: removing them would mean tokenising every deleted text again
  (a dataset's deletion took 5.6x longer that way). Their ids are candidates that no row matches.
  When such stale rows pass half of the index, `fill` empties it and indexes again from the start.

How a search uses it (`plan`): the trigrams of `q` are probed (the first PROBE_ROWS ids holding each
one tell how dense it is), the MATCH_TRIGRAMS rarest are ANDed, and the result is probed too. When
that combination is found in more than COMMON_SHARE of the rows, the index is not used: reading rows
in id order finds a page (and the capped count) of such a common word sooner than the index would.
"""

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

log = logging.getLogger("winnow.search_index")

FILL_CHUNK_ROWS = 10_000
POLL_SECONDS = 3.0
STALE_CHECK_SECONDS = 60.0
REBUILD_MIN_ROWS = 10_000  # below this many indexed rows, stale entries cost nothing worth a rebuild
PROBE_ROWS = 2_000
MAX_PROBED_TRIGRAMS = 16
MATCH_TRIGRAMS = 3
COMMON_SHARE = 0.10

_STATE = "SELECT indexed_through, indexed_rows FROM example_search_state WHERE id = 1"
_PROBE = ("SELECT count(*), max(rowid) FROM (SELECT rowid FROM example_search WHERE example_search MATCH :match "
          "LIMIT :rows)")


@dataclass(frozen=True)
class SearchPlan:
    """Candidates: the ids the MATCH expression `match` finds, and every id above `indexed_through`
    (None when nothing lies above it)."""

    match: str
    indexed_through: int | None


def available(session: Session) -> bool:
    """Whether this database has the index (SQLite at migration 0012 or later)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    return session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'example_search_state'")).first() is not None


def _quoted(trigram: str) -> str:
    return '"' + trigram.replace('"', '""') + '"'


def trigrams(q: str) -> list[str]:
    """The distinct 3-character windows of `q` (case folded as the tokenizer folds ASCII), at most
    MAX_PROBED_TRIGRAMS of them, spread over the whole text."""
    seen: dict[str, str] = {}
    for start in range(len(q) - 2):
        window = q[start:start + 3]
        seen.setdefault(window.casefold(), window)
    windows = list(seen.values())
    if len(windows) > MAX_PROBED_TRIGRAMS:
        step = len(windows) / MAX_PROBED_TRIGRAMS
        windows = [windows[int(i * step)] for i in range(MAX_PROBED_TRIGRAMS)]
    return windows


def _density(session: Session, match: str, indexed_through: int) -> float:
    """The share of indexed ids that `match` finds, estimated from the first PROBE_ROWS it finds."""
    found, last = session.execute(text(_PROBE), {"match": match, "rows": PROBE_ROWS}).one()
    if found < PROBE_ROWS:
        return found / indexed_through
    return found / max(last, 1)


def plan(session: Session, q: str) -> SearchPlan | None:
    """How the index narrows a search for `q`, or None where LIKE alone is the better plan: not
    SQLite, `q` shorter than a trigram, nothing indexed yet, or a word found in most pages of rows."""
    if len(q) < 3 or not available(session):
        return None
    indexed_through, _ = session.execute(text(_STATE)).one()
    if indexed_through <= 0:
        return None
    densities = sorted((_density(session, _quoted(t), indexed_through), t) for t in trigrams(q))
    match = " AND ".join(_quoted(t) for _, t in densities[:MATCH_TRIGRAMS])
    if densities[0][0] > 0 and _density(session, match, indexed_through) > COMMON_SHARE:
        return None
    newest = session.execute(text("SELECT max(id) FROM examples")).scalar() or 0
    return SearchPlan(match, indexed_through if newest > indexed_through else None)


def fill(engine: Engine, chunk_rows: int = FILL_CHUNK_ROWS, should_stop=lambda: False) -> int:
    """Index the rows above the watermark, a chunk per transaction. Returns how many were added."""
    added = 0
    while not should_stop():
        with engine.begin() as connection:  # BEGIN IMMEDIATE (app/db.py): one filler at a time
            through, _ = connection.execute(text(_STATE)).one()
            count, upper = connection.execute(
                text("SELECT count(*), max(id) FROM (SELECT id FROM examples WHERE id > :through "
                     "ORDER BY id LIMIT :rows)"), {"through": through, "rows": chunk_rows}).one()
            if not count:
                break
            connection.execute(text("INSERT INTO example_search (rowid, body) SELECT id, input || char(10) || output "
                                    "FROM examples WHERE id > :through AND id <= :upper"),
                               {"through": through, "upper": upper})
            connection.execute(text("UPDATE example_search_state SET indexed_through = :upper, "
                                    "indexed_rows = indexed_rows + :count WHERE id = 1"),
                               {"upper": upper, "count": count})
        added += count
    return added


def reset(connection) -> None:
    """Empty the index: everything is searched by LIKE until `fill` has indexed it again."""
    connection.execute(text("INSERT INTO example_search (example_search) VALUES ('delete-all')"))
    connection.execute(text("UPDATE example_search_state SET indexed_through = 0, indexed_rows = 0 WHERE id = 1"))


def rebuild_if_stale(engine: Engine) -> bool:
    """Empty the index when most of what it holds belongs to deleted rows. Returns whether it did."""
    with engine.connect() as connection:
        through, indexed = connection.execute(text(_STATE)).one()
        if indexed < REBUILD_MIN_ROWS:
            return False
        live = connection.execute(text("SELECT count(*) FROM examples WHERE id <= :through"),
                                  {"through": through}).scalar()
    if live * 2 >= indexed:
        return False
    with engine.begin() as connection:
        reset(connection)
    log.info("search index: %d of its %d rows were deleted; indexing again", indexed - live, indexed)
    return True


class SearchIndexer:
    """Keeps the index filled, in a thread of the server process (SQLite only)."""

    def __init__(self, engine: Engine, poll_seconds: float = POLL_SECONDS) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="winnow-search-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the chunk in progress (under a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        checked_at = float("-inf")
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now - checked_at >= STALE_CHECK_SECONDS:
                    checked_at = now
                    rebuild_if_stale(self.engine)
                added = fill(self.engine, should_stop=self._stop.is_set)
                if added:
                    log.info("search index: %d rows added", added)
            except OperationalError:  # the database was busy past busy_timeout, or is being replaced
                log.warning("search index: could not fill it now; trying again", exc_info=True)
            self._stop.wait(self.poll_seconds)
