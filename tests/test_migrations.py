"""Alembic up, down and up again on an empty database of the kind under test."""

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.migrate import downgrade, upgrade

TABLES = {"datasets", "examples", "revisions", "embeddings", "findings", "jobs", "exports", "users", "api_tokens"}


@pytest.fixture
def empty_database_url(tmp_path):
    url = make_url(get_settings().database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"winnow_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version", "sqlite_sequence"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url):
    assert table_names(empty_database_url) == set()
    upgrade(empty_database_url)
    assert TABLES <= table_names(empty_database_url)
    downgrade(empty_database_url, "base")
    assert table_names(empty_database_url) == set()
    upgrade(empty_database_url)
    assert TABLES <= table_names(empty_database_url)
    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert len(heads) == 1


def index_names(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        return {index["name"] for index in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def test_search_indexes_migration_up_and_down(empty_database_url):
    """0002_search_indexes: the findings paging indexes on both databases, pg_trgm GIN indexes on Postgres;
    a downgrade to the revision before restores its findings index."""
    upgrade(empty_database_url)
    findings = index_names(empty_database_url, "findings")
    assert {"ix_findings_dataset_check_status_score", "ix_findings_dataset_score"} <= findings
    assert "ix_findings_dataset_check_status" not in findings
    engine = create_engine(empty_database_url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                methods = dict(connection.execute(text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'examples'")).all())
                assert connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
            assert "gin_trgm_ops" in methods["ix_examples_input_trgm"]
            assert "gin_trgm_ops" in methods["ix_examples_output_trgm"]
    finally:
        engine.dispose()
    downgrade(empty_database_url, "0009")
    findings = index_names(empty_database_url, "findings")
    assert "ix_findings_dataset_check_status" in findings
    assert "ix_findings_dataset_score" not in findings
    assert not {"ix_examples_input_trgm", "ix_examples_output_trgm"} & index_names(empty_database_url, "examples")
    upgrade(empty_database_url)
    assert "ix_findings_dataset_score" in index_names(empty_database_url, "findings")


def test_preference_columns_are_nullable_additions_to_examples(empty_database_url):
    upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        columns = {c["name"]: c for c in inspect(engine).get_columns("examples")}
    finally:
        engine.dispose()
    assert columns["rejected"]["nullable"] and columns["kto_label"]["nullable"]


def test_the_removed_label_issue_setting_is_dropped_from_saved_settings(empty_database_url):
    """0010: datasets that saved label_issue.sparse_max_rows still analyse (strict settings would 422)."""
    import json

    upgrade(empty_database_url, "0005")
    engine = create_engine(empty_database_url)
    saved = {"label_issue": {"folds": 3, "sparse_max_rows": 20000}, "outlier": {"k": 5}}
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO datasets (name, description, task_type, settings, created_at, updated_at) "
                "VALUES ('d', '', 'classification', :settings, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                {"settings": json.dumps(saved)})
        upgrade(empty_database_url)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT settings FROM datasets")).scalar_one()
    finally:
        engine.dispose()
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored == {"label_issue": {"folds": 3}, "outlier": {"k": 5}}


def test_search_collation_is_c_on_postgres_and_restored_by_a_downgrade(empty_database_url):
    """0013_search_collation: input and output compared byte by byte (ASCII folding, as SQLite's LIKE)."""
    def collations() -> dict:
        engine = create_engine(empty_database_url)
        try:
            with engine.connect() as connection:
                return dict(connection.execute(text(
                    "SELECT column_name, collation_name FROM information_schema.columns "
                    "WHERE table_name = 'examples' AND column_name IN ('input', 'output')")).all())
        finally:
            engine.dispose()

    if not empty_database_url.startswith("postgresql"):
        pytest.skip("Postgres's collation; SQLite's LIKE folds ASCII letters already")
    upgrade(empty_database_url)
    assert collations() == {"input": "C", "output": "C"}
    downgrade(empty_database_url, "0012")
    assert collations() == {"input": None, "output": None}
    assert {"ix_examples_input_trgm", "ix_examples_output_trgm"} <= index_names(empty_database_url, "examples")
