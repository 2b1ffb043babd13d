"""example_search: SQLite's trigram index for the example search (`q`)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 22:00:00

SQLite only (Postgres searches through the pg_trgm indexes of 0002_search_indexes). What the
objects are for, and why they look like this, is in app/services/search_index.py:
- `example_search`: FTS5, trigram tokenizer, contentless, `detail=none`: the trigrams of each
  example's input and output under the example's id, no text, no positions;
- `example_search_state`: one row; every example with `id <= indexed_through` is in the index;
  `indexed_rows` counts the texts it took in and `stale_rows` those deleted or replaced since (to
  tell when it is mostly stale and worth rebuilding);
- triggers keep indexed rows right: an edit of the input or output adds the new text's trigrams
  under the same id, a row inserted at or below `indexed_through` (SQLite gives a new row the
  largest id + 1, so ids of deleted rows come back) is added, and a deletion is counted.

The index starts empty: a running server fills it in the background (search_index.SearchIndexer),
and searches stay exact meanwhile.

A later migration that rebuilds `examples` on SQLite (`batch_alter_table`) drops these triggers
with the old table: it must create them again (TRIGGERS below).
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

THROUGH = "(SELECT indexed_through FROM example_search_state)"
ADD = "INSERT INTO example_search(rowid, body) VALUES (new.id, new.input || char(10) || new.output)"
COUNT = "UPDATE example_search_state SET {} WHERE id = 1"
TRIGGERS = {
    "examples_search_edit": f"AFTER UPDATE OF input, output ON examples WHEN new.id <= {THROUGH} BEGIN {ADD}; "
                            + COUNT.format("indexed_rows = indexed_rows + 1, stale_rows = stale_rows + 1") + "; END",
    "examples_search_insert": f"AFTER INSERT ON examples WHEN new.id <= {THROUGH} BEGIN {ADD}; "
                              + COUNT.format("indexed_rows = indexed_rows + 1") + "; END",
    "examples_search_delete": f"AFTER DELETE ON examples WHEN old.id <= {THROUGH} BEGIN "
                              + COUNT.format("stale_rows = stale_rows + 1") + "; END",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE example_search USING fts5(body, content='', detail='none', "
               "tokenize='trigram', columnsize=0)")
    op.execute("CREATE TABLE example_search_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "indexed_through INTEGER NOT NULL, indexed_rows INTEGER NOT NULL, stale_rows INTEGER NOT NULL)")
    op.execute("INSERT INTO example_search_state (id, indexed_through, indexed_rows, stale_rows) VALUES (1, 0, 0, 0)")
    for name, definition in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS example_search_state")
    op.execute("DROP TABLE IF EXISTS example_search")
