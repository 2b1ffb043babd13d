"""Drop exports.job_id: exports run in the request, and nothing ever set it.

Revision ID: 0008
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table (its foreign key on the column goes with it).
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("job_id")


def downgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_exports_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="SET NULL")
