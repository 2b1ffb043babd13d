"""search collation: Postgres compares examples.input and examples.output byte by byte (COLLATE "C")

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 00:00:00

Postgres only. The example search is `ILIKE`, and under a libc locale such as C.UTF-8 an ILIKE
lowers every text it compares through wide characters, about 2.7 us per text: most of a search's
time at 1,000,000 pairs. Under the "C" collation it folds ASCII letters only, 2.5x faster, which is
what SQLite's LIKE does: the search now matches the same rows on both databases.

Only the collation changes, so the table is not rewritten; Postgres rebuilds the pg_trgm GIN
indexes of 0002_search_indexes (their trigrams do not depend on the column's collation, and the
search's ILIKE must use the index's collation to use the index), and the columns' statistics are
gathered again. That took 82 s at 1,000,000 pairs. Nothing sorts or compares these columns by locale.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("input", "output")


def _set_collation(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The GIN rebuilds are sorted in memory; the default 64 MB spills a million texts to disk.
    op.execute("SET LOCAL maintenance_work_mem = '512MB'")
    changes = ", ".join(f"ALTER COLUMN {column} TYPE VARCHAR COLLATE {collation}" for column in COLUMNS)
    op.execute(f"ALTER TABLE examples {changes}")
    # A type change drops the columns' statistics; without them the planner guesses every search
    # rare and reads a common word's 400,000 rows through the index.
    op.execute("ANALYZE examples")


def upgrade() -> None:
    _set_collation('"C"')


def downgrade() -> None:
    _set_collation('"default"')
