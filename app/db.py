"""Engine, session scopes and SQLite pragmas.

The request is the transaction: `get_session` commits when the handler returns and rolls back
when it raises. Services only `flush()`. Jobs and the CLI use `session_scope()`.

On SQLite a writing transaction begins IMMEDIATE (it takes the write lock up front and waits for it
under busy_timeout); a read-only one (GET/HEAD requests, the authentication lookup) begins DEFERRED
and never takes the write lock, so a slow page cannot block anyone's write (WAL readers do not block
writers).
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache

from fastapi import Request
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from app.config import Settings, get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY_OPTION = "winnow_read_only"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_begin(conn) -> None:
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        # A reader: no write lock, ever. (Should it write after all, SQLite upgrades the transaction,
        # which fails fast rather than waits when another writer got there first.)
        conn.exec_driver_sql("BEGIN")
        return
    # pysqlite opens transactions lazily and as DEFERRED; a deferred reader that later writes
    # can fail with "database is locked" without waiting. BEGIN IMMEDIATE takes the write lock
    # up front and honours busy_timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache
def build_engine(url: str) -> Engine:
    """The engine of a database URL, one per URL and process (its pool is shared by all who use it)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def engine_for(settings: Settings) -> Engine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return build_engine(settings.database_url)


def get_engine() -> Engine:
    """The engine of the process's settings (those create_app was given)."""
    return engine_for(get_settings())


@lru_cache
def _read_only(engine: Engine) -> Engine:
    return engine.execution_options(**{READ_ONLY_OPTION: True})


@contextmanager
def session_scope(read_only: bool = False) -> Iterator[Session]:
    """One transaction outside a request (jobs, CLI): commit on success, roll back on error.
    `read_only`: on SQLite the transaction begins DEFERRED and takes no write lock."""
    with Session(_read_only(get_engine()) if read_only else get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """The request's transaction; read-only for GET/HEAD/OPTIONS (those never take SQLite's write lock)."""
    with session_scope(read_only=request.method in READ_ONLY_METHODS) as session:
        yield session


def end_read_transaction(session: Session) -> None:
    """Call before long work that needs no database (reading a large upload, writing an export's files).
    The request's session may have read, and on SQLite a writing request's transaction begins
    IMMEDIATE, i.e. holds the write lock: end that transaction, so that the long work does
    not block other writers for minutes. The session's next statement opens the next transaction."""
    if session.in_transaction():
        session.commit()


def driver_param(session: Session) -> str:
    """The driver's placeholder, for SQL run through fetch_all_raw."""
    return "?" if session.connection().dialect.paramstyle == "qmark" else "%s"


def fetch_all_raw(session: Session, sql: str, params: Sequence, binary: bool = False) -> list[tuple]:
    """The rows of one statement through the driver's own cursor: SQLAlchemy's row objects and result
    processing cost several times the read for 50,000 rows. `binary`: on Postgres, bytea as bytes
    (psycopg otherwise sends it as hex text: twice the bytes, then decoded, 3x the time)."""
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params, **({"binary": True} if binary and connection.dialect.name != "sqlite" else {}))
        return cursor.fetchall()
    finally:
        cursor.close()


# Postgres plans by the statistics ANALYZE gathers. Autovacuum gathers them a minute or more after a
# bulk write, or never when it is off; until then a table that grew from nothing looks nearly empty,
# and a join with it can be planned as a nested loop over every row, which is quadratic: the first
# analysis of 100,000 pairs spent minutes loading its vectors. So a bulk write gathers them at once,
# by autovacuum's own rule (50 rows plus a tenth of the table). Smaller writes add up until
# autovacuum, where it runs, catches them.
ANALYZE_THRESHOLD = 50
ANALYZE_SCALE_FACTOR = 0.1


def refresh_planner_statistics(session: Session, table: str, written: int) -> bool:
    """ANALYZE `table` on Postgres when `written` rows are 50 plus a tenth of the rows it had at its last
    ANALYZE, or more. True if it ran. In the caller's transaction, so that it sees the rows written
    there; it blocks no reader or writer."""
    if written < ANALYZE_THRESHOLD or session.get_bind().dialect.name != "postgresql":
        return False
    estimated = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
                               {"table": table})
    if written < ANALYZE_THRESHOLD + ANALYZE_SCALE_FACTOR * max(estimated or 0, 0):
        return False
    session.execute(text(f'ANALYZE "{table}"'))
    return True
