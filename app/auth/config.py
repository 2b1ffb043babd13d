"""Authentication settings, read from the environment like app.config.Settings."""

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # `off` = local single-user mode: every request acts as an admin, but only on a loopback socket.
    mode: Literal["on", "off"] = Field(default="on", validation_alias="WINNOW_AUTH")
    # On start-up the `admin` user is created (or updated) and this token made valid for it.
    admin_token: str | None = Field(default=None, validation_alias="WINNOW_ADMIN_TOKEN", min_length=16)
    # Force the Secure flag on the session cookie (it is set anyway when the request is https).
    secure_cookies: bool = Field(default=False, validation_alias="WINNOW_SECURE_COOKIES")
    session_hours: float = Field(default=12, gt=0, validation_alias="WINNOW_SESSION_HOURS")

    @property
    def enabled(self) -> bool:
        return self.mode == "on"


@lru_cache
def get_auth_settings() -> AuthSettings:
    return AuthSettings()
