"""reference sets: a dataset's role (training or reference)

A reference dataset (an eval set, a test set, a benchmark) is checked against, never exported as
training data. A column rather than a setting, because exports, lists and the contamination
check's validation ask for it on every call, and a setting inside the JSON could not be indexed
or constrained.

Revision ID: 0009
Revises: 0008
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=20), nullable=False, server_default="training"))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.drop_column("role")
