from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RoleLiteral = Literal["admin", "reviewer"]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
    role: RoleLiteral = "reviewer"
    password: str | None = Field(default=None, min_length=10, max_length=1024,
                                 description="for signing in with the browser; omit for a token-only user")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleLiteral | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None
    username: str
    role: RoleLiteral
    is_active: bool
    has_password: bool
    created_at: datetime | None = None

    @classmethod
    def of(cls, user) -> "UserPublic":
        return cls(id=user.id, username=user.username, role=user.role, is_active=user.is_active,
                   has_password=user.password_hash is not None, created_at=user.created_at)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200, description="what the token is for")


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenPublic):
    token: str = Field(description="the token itself: shown only in this answer, never stored")


class UserCreated(BaseModel):
    user: UserPublic
    token: str = Field(description="a first API token for the user: shown only in this answer")
