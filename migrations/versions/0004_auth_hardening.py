"""auth hardening: session versions, login counters, job cancellation; JSON nested too deep made storable

Revision ID: 0004
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_counters_window_start"), ["window_start"], unique=False)
    # Rows stored before the nesting limit existed may hold JSON too deep to serialise: keep their
    # content, as text, under a marker key (app/json_limits.py).
    from app.maintenance import repair_stored_json

    repair_stored_json(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_counters_window_start"))
    op.drop_table("login_counters")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("cancel_requested_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
