"""Test settings, database and client.

The tests configure the app by constructing `TEST_SETTINGS` (and `create_app(TEST_SETTINGS)`); the
environment is written only for the servers and CLIs that tests start in other processes.

The database under test comes from DATABASE_URL: empty means a fresh SQLite file; a Postgres
URL means a fresh database created next to it for this test session (so parallel runs do not
collide), dropped at the end. Either is built by the real Alembic migrations. After each test
every table is emptied: jobs, the CLI and browser tests commit from other threads and
processes, which a rolled-back outer transaction would hide from them.
"""

import os
import tempfile
import uuid
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="winnow-tests-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_base_url = os.environ.get("DATABASE_URL", "")
_pg_admin_url = None
if _base_url.startswith("postgresql"):
    from sqlalchemy.engine import make_url

    _pg_admin_url = make_url(_base_url)
    _test_db = f"winnow_test_{uuid.uuid4().hex[:10]}"
    _database_url = _pg_admin_url.set(database=_test_db).render_as_string(hide_password=False)
else:
    _database_url = f"sqlite:///{_tmp / 'test.db'}"

from app.config import Settings, use_settings  # noqa: E402

TEST_SETTINGS = Settings(
    data_dir=_tmp / "data", database_url=_database_url, migrate_on_start=False,
    embedding_model=os.environ.get("WINNOW_EMBEDDING_MODEL", "hashing"),  # the fast deterministic embedder
    # Every test's app starts and stops the import workers; tests of the import in pieces start their own.
    import_workers=int(os.environ.get("WINNOW_IMPORT_WORKERS", "1")),
)
use_settings(TEST_SETTINGS)
# The same configuration for the servers and CLIs tests start in other processes.
os.environ.update({"WINNOW_DATA_DIR": str(TEST_SETTINGS.data_dir), "DATABASE_URL": _database_url,
                   "WINNOW_MIGRATE_ON_START": "false", "WINNOW_EMBEDDING_MODEL": TEST_SETTINGS.embedding_model,
                   "WINNOW_IMPORT_WORKERS": str(TEST_SETTINGS.import_workers)})

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from app.db import get_engine  # noqa: E402

IS_POSTGRES = _pg_admin_url is not None


def _admin_execute(statement: str) -> None:
    engine = create_engine(_pg_admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def database():
    """Create (Postgres) and migrate the database once per test session."""
    from app.migrate import upgrade

    if IS_POSTGRES:
        _admin_execute(f'CREATE DATABASE "{_test_db}"')
    upgrade(TEST_SETTINGS.database_url)
    yield get_engine()
    get_engine().dispose()
    if IS_POSTGRES:
        _admin_execute(f'DROP DATABASE IF EXISTS "{_test_db}" WITH (FORCE)')


def empty_all_tables(engine) -> None:
    import app.models  # noqa: F401
    from app.services import search_index

    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(connection) else None
            search_index.reset(connection)  # ids start again at 1: each test starts with an empty search index


def _has_sqlite_sequence(connection) -> bool:
    return connection.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first() is not None


@pytest.fixture(autouse=True)
def _clean_tables(database):
    yield
    use_settings(TEST_SETTINGS)  # a test's app made with other settings made them the process's
    empty_all_tables(database)


@pytest.fixture
def session(database):
    """A session for service tests; commits nothing unless the test does."""
    from sqlmodel import Session

    with Session(database, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def app():
    from app.main import create_app

    return create_app(TEST_SETTINGS)


def _client_as(app, user: dict):
    from fastapi.testclient import TestClient

    with TestClient(app, headers={"Authorization": f"Bearer {user['token']}"}) as client:
        yield client


@pytest.fixture
def client(app, make_user):
    """An API client acting as an admin (a Bearer token of a real admin user in the test database)."""
    yield from _client_as(app, make_user("admin", "admin"))


@pytest.fixture
def make_dataset(client):
    def make(name: str = "ds", **fields) -> dict:
        response = client.post("/api/v1/datasets", json={"name": name, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    return make


@pytest.fixture
def import_jsonl(client):
    """POST JSONL text to a dataset's import endpoint; returns the response."""

    def do_import(dataset_id: int, body: str | bytes, **params):
        data = body.encode() if isinstance(body, str) else body
        return client.post(f"/api/v1/datasets/{dataset_id}/import", params=params, content=data,
                           headers={"content-type": "application/x-ndjson"})

    return do_import


TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(database):
    """Create a user in the test database: {id, username, role, password, token, session_cookie}.

    `session_cookie` is the value of the `winnow_session` cookie that signs the browser in
    (e.g. for Playwright: context.add_cookies([{"name": "winnow_session", "value": ..., "url": base}])).
    """
    from app.auth.sessions import session_value
    from app.db import session_scope
    from app.services import users

    def make(username: str = "someone", role: str = "reviewer", password: str | None = TEST_PASSWORD) -> dict:
        with session_scope() as session:
            user = users.create_user(session, username, role, password)
            _, token = users.issue_token(session, user, "tests")
            return {"id": user.id, "username": username, "role": role, "password": password, "token": token,
                    "session_cookie": session_value(user)}

    return make


@pytest.fixture
def reviewer_client(app, make_user):
    """An API client acting as a reviewer (reads, reviews and edits pairs; no admin actions)."""
    yield from _client_as(app, make_user("reviewer", "reviewer"))


@pytest.fixture
def anon_client(app):
    """A client with no credentials at all."""
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as client:
        yield client
