"""label_issue settings: drop `sparse_max_rows` from saved dataset settings

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-26 18:50:00

label_issue no longer projects TF-IDF to dense columns above a size (its SGD classifier reads the
sparse features at every size), so the setting that chose that path is gone. Check settings are strict
(an unknown key is a 422), so a dataset that saved it would fail its next analysis: the key is removed
from every dataset's settings here.
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REMOVED = "sparse_max_rows"


def upgrade() -> None:
    connection = op.get_bind()
    datasets = sa.table("datasets", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
    for dataset_id, settings in connection.execute(sa.select(datasets.c.id, datasets.c.settings)).all():
        if isinstance(settings, str):
            settings = json.loads(settings)
        label_issue = (settings or {}).get("label_issue")
        if isinstance(label_issue, dict) and REMOVED in label_issue:
            label_issue = {k: v for k, v in label_issue.items() if k != REMOVED}
            connection.execute(sa.update(datasets).where(datasets.c.id == dataset_id)
                               .values(settings={**settings, "label_issue": label_issue}))


def downgrade() -> None:
    pass  # the removed key was a tuning knob with a default: nothing to restore
