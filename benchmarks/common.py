"""What the benchmarks share: the Debian data and throw-away Postgres databases."""

import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Next to the checkout (/work/main -> /work/shared), or two levels up from a worktree (/work/wt/<name>).
DEBIAN = next((path for path in (ROOT.parent / "shared" / "data" / "debian_packages.jsonl.gz",
                                 ROOT.parent.parent / "shared" / "data" / "debian_packages.jsonl.gz")
               if path.exists()), ROOT.parent / "shared" / "data" / "debian_packages.jsonl.gz")


def throwaway_postgres_database(pg_url: str, prefix: str = "winnow_bench") -> tuple[str, Callable[[], None]]:
    """(URL of a new empty database on pg_url's server, function dropping it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(pg_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def execute(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    def drop() -> None:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    execute(f'CREATE DATABASE "{name}"')
    return admin_url.set(database=name).render_as_string(hide_password=False), drop
