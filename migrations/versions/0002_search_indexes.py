"""search and paging indexes

Postgres: the pg_trgm extension and GIN trigram indexes on examples.input and examples.output, so
that a substring search (`ILIKE '%word%'`) reads the index instead of every row.
Both databases: findings indexes in the order every findings list and review queue pages by
(score high to low, then id), so a page is an index range instead of a sort of all findings; an
examples index on (dataset, status, label) that answers the health report's counts without reading
the rows; and `datasets.content_version`, bumped by every change of a dataset's examples or findings,
which keys the cached counts (app/services/dataset_stats.py).

Revision ID: 0002_search_indexes
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_search_indexes"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_INDEXES = {"ix_examples_input_trgm": "input", "ix_examples_output_trgm": "output"}


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("examples", schema=None) as batch_op:
        batch_op.create_index("ix_examples_dataset_status_label", ["dataset_id", "status", "label"], unique=False)
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_dataset_check_status")
        batch_op.create_index("ix_findings_dataset_check_status_score",
                              ["dataset_id", "check", "status", sa.text("score DESC"), "id", "example_id"],
                              unique=False)
        batch_op.create_index("ix_findings_dataset_score", ["dataset_id", sa.text("score DESC"), "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON examples USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: other databases' objects or other schemas may use it.
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_dataset_score")
        batch_op.drop_index("ix_findings_dataset_check_status_score")
        batch_op.create_index("ix_findings_dataset_check_status", ["dataset_id", "check", "status"], unique=False)
    with op.batch_alter_table("examples", schema=None) as batch_op:
        batch_op.drop_index("ix_examples_dataset_status_label")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("content_version")
