"""Issue #13.12: an export killed midway leaves exports/.staging-<uuid>/; the next start removes it."""

import os
import time

from fastapi.testclient import TestClient

from app.config import get_settings
from app.maintenance import STAGING_QUIET_SECONDS


def test_start_up_removes_abandoned_staging_folders_only(app):
    exports = get_settings().data_dir / "exports"
    abandoned = exports / ".staging-0123abcd"
    (abandoned / "splits").mkdir(parents=True)
    (abandoned / "splits" / "train.jsonl").write_text("{}\n")
    old = time.time() - STAGING_QUIET_SECONDS - 60
    for path in (abandoned / "splits" / "train.jsonl", abandoned / "splits", abandoned):
        os.utime(path, (old, old))
    active = exports / ".staging-4567efgh"  # another process's export, still writing
    active.mkdir()
    (active / "train.jsonl").write_text("{}\n")
    finished = exports / "7"
    finished.mkdir()
    os.utime(finished, (old, old))
    with TestClient(app):
        pass
    assert not abandoned.exists()
    assert active.exists() and finished.exists()
