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
  A trigger counts them (and replaced texts); once they pass half of what the index holds,
  `rebuild_if_stale` empties it and the filler indexes everything again.

How a search uses it (`plan`): the trigrams of `q` are probed (the first PROBE_ROWS ids holding each
one tell how dense it is), up to MATCH_TRIGRAMS of the rarest that do not overlap are ANDed
(`choose`), and the result is probed too. When that combination is found in more than COMMON_SHARE
of the rows, the index is not used: reading rows in id order finds a page (and the capped count) of
such a common word sooner than the index would.
"""

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

log = logging.getLogger("winnow.search_index")

FILL_CHUNK_ROWS = 10_000
POLL_SECONDS = 3.0
REBUILD_MIN_ROWS = 10_000  # below this many indexed rows, stale entries cost nothing worth a rebuild
PROBE_ROWS = 2_000
MAX_PROBED_TRIGRAMS = 16
MATCH_TRIGRAMS = 3
COMMON_SHARE = 0.10

_STATE = "SELECT indexed_through, indexed_rows, stale_rows FROM example_search_state WHERE id = 1"
_HAS_INDEX = "SELECT 1 FROM sqlite_master WHERE name = 'example_search_state'"
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
    return session.execute(text(_HAS_INDEX)).first() is not None


def _quoted(trigram: str) -> str:
    return '"' + trigram.replace('"', '""') + '"'


def trigrams(q: str) -> list[tuple[int, str]]:
    """The distinct 3-character windows of `q` with their positions (case folded as the tokenizer
    folds ASCII), at most MAX_PROBED_TRIGRAMS of them, spread over the whole text."""
    seen: dict[str, tuple[int, str]] = {}
    for start in range(len(q) - 2):
        window = q[start:start + 3]
        seen.setdefault(window.casefold(), (start, window))
    windows = list(seen.values())
    if len(windows) > MAX_PROBED_TRIGRAMS:
        step = len(windows) / MAX_PROBED_TRIGRAMS
        windows = [windows[int(i * step)] for i in range(MAX_PROBED_TRIGRAMS)]
    return windows


def _lag(connection) -> tuple[int, int]:
    """(the watermark, the newest example id): rows between them are not indexed yet."""
    through = connection.execute(text(_STATE)).one().indexed_through
    return through, connection.execute(text("SELECT max(id) FROM examples")).scalar() or 0


def _density(session: Session, match: str, indexed_through: int) -> float:
    """The share of indexed ids that `match` finds, estimated from the first PROBE_ROWS it finds."""
    found, last = session.execute(text(_PROBE), {"match": match, "rows": PROBE_ROWS}).one()
    if found < PROBE_ROWS:
        return found / indexed_through
    return found / max(last, 1)


def choose(probed: list[tuple[float, int, str]]) -> list[str]:
    """The trigrams to AND, from (density, position, trigram): the rarest first, then the rarest of
    those that do not overlap one already chosen. Overlapping trigrams come together ("dir", "ire",
    "rec" of "directory"), so a second one of them narrows little and costs a doclist read."""
    chosen: list[tuple[int, str]] = []
    for _, position, trigram in sorted(probed):
        if all(abs(position - other) >= 3 for other, _ in chosen):
            chosen.append((position, trigram))
        if len(chosen) == MATCH_TRIGRAMS:
            break
    return [trigram for _, trigram in chosen]


def plan(session: Session, q: str) -> SearchPlan | None:
    """How the index narrows a search for `q`, or None where LIKE alone is the better plan: not
    SQLite, `q` shorter than a trigram, nothing indexed yet, or a word found in most pages of rows."""
    if len(q) < 3 or not available(session):
        return None
    indexed_through, newest = _lag(session)
    if indexed_through <= 0:
        return None
    probed = [(_density(session, _quoted(t), indexed_through), position, t) for position, t in trigrams(q)]
    match = " AND ".join(_quoted(t) for t in choose(probed))
    if min(probed)[0] > 0 and _density(session, match, indexed_through) > COMMON_SHARE:
        return None
    return SearchPlan(match, indexed_through if newest > indexed_through else None)


def fill(engine: Engine, chunk_rows: int = FILL_CHUNK_ROWS, should_stop=lambda: False) -> int:
    """Index the rows above the watermark, a chunk per transaction. Returns how many were added."""
    added = 0
    while not should_stop():
        with engine.connect() as connection:  # a read first: no write lock while there is nothing to do
            through, newest = _lag(connection)
        if newest <= through:
            break
        with engine.begin() as connection:  # BEGIN IMMEDIATE (app/db.py): one filler at a time
            through = connection.execute(text(_STATE)).one().indexed_through
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
    connection.execute(text("UPDATE example_search_state SET indexed_through = 0, indexed_rows = 0, stale_rows = 0 "
                            "WHERE id = 1"))


def rebuild_if_stale(engine: Engine) -> bool:
    """Empty the index when most of the texts it holds were deleted or replaced since. Returns whether it did."""
    with engine.connect() as connection:
        state = connection.execute(text(_STATE)).one()
    if state.indexed_rows < REBUILD_MIN_ROWS or state.stale_rows * 2 <= state.indexed_rows:
        return False
    with engine.begin() as connection:
        reset(connection)
    log.info("search index: %d of the %d texts it held were deleted or replaced; indexing again",
             state.stale_rows, state.indexed_rows)
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
        while not self._stop.is_set():
            try:
                with self.engine.connect() as connection:  # a database not migrated to 0012 has no index
                    ready = connection.execute(text(_HAS_INDEX)).first() is not None
                if ready:
                    rebuild_if_stale(self.engine)
                    added = fill(self.engine, should_stop=self._stop.is_set)
                    if added:
                        log.info("search index: %d rows added", added)
            except OperationalError:  # the database was busy past busy_timeout, or is being replaced
                log.warning("search index: could not fill it now; trying again", exc_info=True)
            self._stop.wait(self.poll_seconds)
