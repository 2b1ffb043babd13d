"""The secret that signs cookies: Settings.secret_key (WINNOW_SECRET_KEY), else a random key kept in the
data directory.

It is the same key file as app/web/csrf.py uses, so one secret signs everything. Several app
instances (Postgres deployments) must share WINNOW_SECRET_KEY.
"""

import os
import secrets
from pathlib import Path

from app.config import Settings, get_settings

_cache: dict[str, str] = {}


def secret_key(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    key_file = Path(settings.data_dir) / ".secret_key"
    if str(key_file) in _cache:
        return _cache[str(key_file)]
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        try:  # O_EXCL: when workers race, exactly one writes the key and the others read it.
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
    _cache[str(key_file)] = key_file.read_text().strip()
    return _cache[str(key_file)]
