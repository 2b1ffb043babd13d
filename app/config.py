"""All settings come from the environment (or a `.env` file), in one place."""

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

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
    # `all-MiniLM-L6-v2` (packaged sentence-transformers model) or `hashing` (fast, for tests).
    embedding_model: str = Field(default="all-MiniLM-L6-v2", validation_alias="WINNOW_EMBEDDING_MODEL")
    embed_batch_size: int = Field(default=64, validation_alias="WINNOW_EMBED_BATCH_SIZE")
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
    # Apply Alembic migrations when the app starts.
    migrate_on_start: bool = Field(default=True, validation_alias="WINNOW_MIGRATE_ON_START")

    @model_validator(mode="after")
    def _default_database(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'winnow.db').resolve()}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
