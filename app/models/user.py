from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.models.common import TIMESTAMP, utcnow


class Role(StrEnum):
    admin = "admin"
    reviewer = "reviewer"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=200, unique=True, index=True)
    password_hash: str | None = None
    role: str = Field(default=Role.reviewer, max_length=20)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    # Part of every session cookie: logout, disabling and a password change bump it, which ends the user's sessions.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LoginCounter(SQLModel, table=True):
    """Sign-in attempts per username or per address within the current window (the login throttle).
    In the database so that every process and instance shares the counts."""

    __tablename__ = "login_counters"

    key: str = Field(primary_key=True, max_length=300)
    # Seconds since the epoch (a plain number: compared the same way on both databases).
    window_start: float = Field(index=True)
    attempts: int = 0


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True))
    name: str = Field(default="", max_length=200)
    # sha256 of the token; the token itself is shown once and never stored.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    last_used_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
    revoked_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
