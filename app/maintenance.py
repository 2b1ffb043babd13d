"""Start-up housekeeping: what an earlier, killed process left behind."""

import logging
import os
import shutil
import time
from pathlib import Path

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
