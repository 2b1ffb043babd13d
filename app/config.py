"""All settings, in one object: read from the environment (or a `.env` file), or constructed (tests).

`create_app(settings)` makes the settings it is given the process's (`get_settings()`), so the engine,
the routes, the job runner and the services all see one configuration. Each field names its
environment variable.
"""

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.embeddings.base import STATIC_NAME


class Settings(BaseSettings):
    # populate_by_name: Settings(data_dir=...) as well as Settings(WINNOW_DATA_DIR=...).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("data"), validation_alias="WINNOW_DATA_DIR")
    # Empty means: a SQLite file inside the data directory.
    database_url: str = Field(default="", validation_alias="DATABASE_URL")
    # Largest request body accepted (imports included); beyond it the answer is 413.
    max_body_bytes: int = Field(default=1024 * 1024 * 1024, validation_alias="WINNOW_MAX_BODY_BYTES")
    # Largest body of any other request (JSON edits and the like).
    max_request_bytes: int = Field(default=16 * 1024 * 1024, validation_alias="WINNOW_MAX_REQUEST_BYTES")
    # Rows written per INSERT batch during an import.
    import_batch_size: int = Field(default=2000, validation_alias="WINNOW_IMPORT_BATCH_SIZE")
    # Processes that validate a large JSONL import side by side (1: validate in the server's process).
    import_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=1,
                                validation_alias="WINNOW_IMPORT_WORKERS")
    # JSONL imports at least this large are validated by the import workers.
    import_parallel_min_bytes: int = Field(default=4 << 20, ge=0, validation_alias="WINNOW_IMPORT_PARALLEL_MIN_BYTES")
    # CSV imports: most columns a header may have (unknown columns go into each pair's metadata).
    import_max_csv_columns: int = Field(default=256, ge=1, le=100_000, validation_alias="WINNOW_IMPORT_MAX_CSV_COLUMNS")
    # Longest line of a CSV (characters) or JSONL (bytes) import; a longer one is an error naming its line.
    import_max_line_length: int = Field(default=16 * 1024 * 1024, ge=1024, validation_alias="WINNOW_IMPORT_MAX_LINE_LENGTH")
    # `minilm-static-256` (static model distilled offline from the packaged MiniLM: fast, the default),
    # `all-MiniLM-L6-v2` (the packaged transformer itself) or `hashing` (deterministic, for tests).
    embedding_model: str = Field(default=STATIC_NAME, validation_alias="WINNOW_EMBEDDING_MODEL")
    # Texts per forward pass of the transformer; empty: 64 on a CPU, 1024 on a GPU.
    embed_batch_size: int | None = Field(default=None, ge=1, validation_alias="WINNOW_EMBED_BATCH_SIZE")
    # Where the transformer runs: `auto` picks the GPU when torch sees one.
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", validation_alias="WINNOW_DEVICE")
    # Distilled static models are cached here; empty: <data dir>/models.
    models_dir: Path | None = Field(default=None, validation_alias="WINNOW_MODELS_DIR")
    # `local`: embed in the job's process; `ray`: Ray Data actors on the cluster RAY_ADDRESS names
    # (empty: `ray` when RAY_ADDRESS is set, else `local`).
    embed_backend: Literal["", "local", "ray"] = Field(default="", validation_alias="WINNOW_EMBED_BACKEND")
    ray_address: str = Field(default="", validation_alias="RAY_ADDRESS")
    # Sign-in throttle: attempts allowed per username and per client address within the window (then 429).
    login_max_attempts_per_username: int = Field(default=10, ge=1, le=10_000,
                                                 validation_alias="WINNOW_LOGIN_MAX_ATTEMPTS_PER_USERNAME")
    login_max_attempts_per_address: int = Field(default=30, ge=1, le=100_000,
                                                validation_alias="WINNOW_LOGIN_MAX_ATTEMPTS_PER_ADDRESS")
    login_window_minutes: float = Field(default=15, gt=0, le=24 * 60, validation_alias="WINNOW_LOGIN_WINDOW_MINUTES")
    # Usernames and addresses tracked at most; beyond it the oldest are forgotten first.
    login_max_tracked_keys: int = Field(default=100_000, ge=100, validation_alias="WINNOW_LOGIN_MAX_TRACKED_KEYS")
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto `winnow serve` trusts (comma-separated IPs or networks,
    # e.g. "10.0.0.5,172.16.0.0/12"). Empty: forwarded headers are ignored and the socket's peer is the client.
    trusted_proxies: str = Field(default="", validation_alias="WINNOW_TRUSTED_PROXIES")
    # Tokenizer of the token counts (format check, export statistics): o200k_base, cl100k_base, local
    # (the Hugging Face tokenizer at WINNOW_TOKENIZER_PATH) or all-MiniLM-L6-v2; a dataset's settings.tokenizer wins.
    tokenizer: str = Field(default="", validation_alias="WINNOW_TOKENIZER")
    tokenizer_path: str | None = Field(default=None, validation_alias="WINNOW_TOKENIZER_PATH")
    # Apply Alembic migrations when the app starts.
    migrate_on_start: bool = Field(default=True, validation_alias="WINNOW_MIGRATE_ON_START")

    # -- authentication --------------------------------------------------------------------
    # `off` = local single-user mode: every request acts as an admin, but only on a loopback socket.
    auth: Literal["on", "off"] = Field(default="on", validation_alias="WINNOW_AUTH")
    # On start-up the `admin` user is created (or updated) and this token made valid for it.
    admin_token: str | None = Field(default=None, validation_alias="WINNOW_ADMIN_TOKEN", min_length=16)
    # Force the Secure flag on the session cookie (it is set anyway when the request is https).
    secure_cookies: bool = Field(default=False, validation_alias="WINNOW_SECURE_COOKIES")
    session_hours: float = Field(default=12, gt=0, validation_alias="WINNOW_SESSION_HOURS")
    # Signs cookies. Empty: a random key kept in the data directory (app/auth/keys.py). Several app
    # instances (Postgres deployments) must share one.
    secret_key: SecretStr | None = Field(default=None, validation_alias="WINNOW_SECRET_KEY")

    @model_validator(mode="after")
    def _default_database(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'winnow.db').resolve()}"
        if self.models_dir is None:
            self.models_dir = self.data_dir / "models"
        if not self.embed_backend:
            self.embed_backend = "ray" if self.ray_address else "local"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def auth_enabled(self) -> bool:
        return self.auth == "on"


_current: Settings | None = None


def get_settings() -> Settings:
    """The process's settings: those `use_settings` was given (create_app, the CLI), else the environment's."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def use_settings(settings: Settings) -> Settings:
    """Make `settings` the process's: what get_settings(), and so the engine and the jobs, use from now on."""
    global _current
    _current = settings
    return settings
