"""Start-up housekeeping: what an earlier, killed process left behind."""

import json
import logging
import os
import shutil
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.json_limits import MAX_JSON_DEPTH, TOO_DEEP_KEY, depth_exceeds

log = logging.getLogger("winnow")

# A staging folder nothing has written to for this long belongs to no running export (an export
# writes its files continuously); younger ones may belong to another server process on the same data.
STAGING_QUIET_SECONDS = 5 * 60


def _last_write(folder: Path) -> float:
    latest = folder.stat().st_mtime
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                latest = max(latest, (Path(root) / name).stat().st_mtime)
            except FileNotFoundError:
                pass
    return latest


def remove_abandoned_staging(data_dir: Path, quiet_seconds: float = STAGING_QUIET_SECONDS) -> int:
    """Delete exports/.staging-* folders of exports killed midway. Returns how many were removed."""
    exports = data_dir / "exports"
    if not exports.is_dir():
        return 0
    removed = 0
    now = time.time()
    for folder in exports.glob(".staging-*"):
        try:
            if folder.is_dir() and now - _last_write(folder) >= quiet_seconds:
                shutil.rmtree(folder)
                removed += 1
        except OSError:
            log.warning("could not remove the abandoned export folder %s", folder, exc_info=True)
    if removed:
        log.warning("removed %d folder(s) of exports killed midway", removed)
    return removed


# Tables and JSON columns that user input reaches.
STORED_JSON_COLUMNS = (("examples", "metadata"), ("examples", "history"), ("datasets", "settings"),
                       ("datasets", "output_schema"), ("revisions", "old"), ("revisions", "new"))


def repair_stored_json(connection: Connection) -> int:
    """Make rows stored before the limit storable again: a value nested too deep becomes
    {TOO_DEEP_KEY: <its JSON text>} (nothing is lost). Returns the number of values changed.

    Only rows with more than MAX_JSON_DEPTH brackets are parsed, so this is fast on large tables."""
    postgres = connection.dialect.name == "postgresql"
    changed = 0
    for table, column in STORED_JSON_COLUMNS:
        as_text = f'CAST("{column}" AS TEXT)'
        brackets = f"length({as_text}) - length(replace(replace({as_text}, '{{', ''), '[', ''))"
        rows = connection.execute(text(
            f'SELECT id, {as_text} FROM {table} WHERE "{column}" IS NOT NULL AND {brackets} > :limit'),
            {"limit": MAX_JSON_DEPTH}).all()
        for row_id, raw in rows:
            try:
                too_deep = depth_exceeds(json.loads(raw))
            except RecursionError:
                too_deep = True
            if not too_deep:
                continue
            value = json.dumps({TOO_DEEP_KEY: raw})
            target = "CAST(:value AS JSON)" if postgres else ":value"
            connection.execute(text(f'UPDATE {table} SET "{column}" = {target} WHERE id = :id'),
                               {"value": value, "id": row_id})
            changed += 1
    return changed
