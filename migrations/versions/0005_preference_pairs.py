"""preference pairs: the rejected side and the KTO label on examples

Revision ID: 0005
Revises: 0002_search_indexes
Create Date: 2026-11-26 15:00:00

Two nullable columns on `examples` rather than a table of their own: `output` already holds the
chosen answer, so every query, index, hash, finding, review action and export that reads a pair
keeps working for preference pairs unchanged, and SFT rows carry two NULLs (no rewrite of
existing rows, on SQLite a plain ADD COLUMN).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("examples") as batch:
        batch.add_column(sa.Column("rejected", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch.add_column(sa.Column("kto_label", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("examples") as batch:
        batch.drop_column("kto_label")
        batch.drop_column("rejected")
