"""dataset_changes: what each bump of datasets.content_version did to the dataset's counts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 19:00:00

The health page, the example browser and the review queue need a dataset's counts by status, label
and cleanliness. Counting them again after every verdict costs a pass over a million index entries;
with the count deltas of each change logged here, a server adds the few deltas since its last count
instead (app/services/dataset_stats.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("delta", sa.JSON(), nullable=True),
    )
    op.create_index("ix_dataset_changes_dataset_version", "dataset_changes", ["dataset_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_dataset_changes_dataset_version", table_name="dataset_changes")
    op.drop_table("dataset_changes")
