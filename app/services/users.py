"""Users and their API tokens. Passwords are argon2 hashes; tokens are stored as sha256 only."""

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from app.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, needs_rehash, password_problem, verify_password
from app.auth.tokens import hash_token, new_token
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.models import ApiToken, Role, User, utcnow
from app.services.common import get_or_not_found

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$")
ADMIN_USERNAME = "admin"
ENV_TOKEN_NAME = "WINNOW_ADMIN_TOKEN"
# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _check_username(username: str) -> str:
    if not USERNAME_PATTERN.match(username or ""):
        raise InvalidInput("a username is 1-200 letters, digits or . _ @ - (starting with a letter or digit)",
                           field="username")
    return username


def _check_role(role: str) -> str:
    if role not in (Role.admin, Role.reviewer):
        raise InvalidInput(f"unknown role '{role}'; use admin or reviewer", field="role")
    return role


def _check_password(password: str) -> str:
    if (problem := password_problem(password)) is not None:
        raise InvalidInput(problem, field="password")
    return password


def get_user(session: Session, user_id: int) -> User:
    return get_or_not_found(session, User, user_id, "user")


def find_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def get_user_by_username(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"user '{username}' not found", field="username")
    return user


def list_users(session: Session, *, limit: int = 50, offset: int = 0) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    return list(session.scalars(select(User).order_by(User.id).limit(limit).offset(offset))), total


def create_user(session: Session, username: str, role: str = Role.reviewer, password: str | None = None) -> User:
    _check_username(username)
    _check_role(role)
    if find_user(session, username) is not None:
        raise Conflict(f"user '{username}' already exists", field="username")
    user = User(username=username, role=role,
                password_hash=hash_password(_check_password(password)) if password is not None else None)
    session.add(user)
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.admin,
                                                                        User.is_active.is_(True))) or 0


def update_user(session: Session, user_id: int, *, role: str | None = None, password: str | None = None,
                is_active: bool | None = None) -> User:
    user = get_user(session, user_id)
    if role is not None:
        user.role = _check_role(role)
    if is_active is not None:
        if not is_active and user.is_active:
            _revoke_all_tokens(session, user.id)  # enabling the user again does not bring them back
            user.session_version += 1
        user.is_active = is_active
    if password is not None:
        user.password_hash = hash_password(_check_password(password))
        user.session_version += 1
    session.flush()
    if _active_admins(session) == 0:
        raise Conflict("this would leave no active admin", field="role")
    return user


def _revoke_all_tokens(session: Session, user_id: int) -> None:
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def end_sessions(session: Session, user_id: int) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_version += 1
        session.flush()


def delete_user(session: Session, user_id: int, acting_user: User) -> None:
    user = get_user(session, user_id)
    if user.id == acting_user.id:
        raise Conflict("you cannot delete yourself", field="user_id")
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        session.delete(token)
    session.delete(user)
    session.flush()
    if _active_admins(session) == 0:
        raise Conflict("this would leave no active admin", field="user_id")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None. Takes as long for unknown users."""
    user = find_user(session, username) if len(password) <= MAX_PASSWORD_LENGTH else None
    if not verify_password(user.password_hash if user else None, password[:MAX_PASSWORD_LENGTH]):
        return None
    if user is None or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def issue_token(session: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the token itself, which is never stored and shown only now."""
    if user.id is None:
        raise InvalidInput("authentication is off: there is no user to issue a token to")
    token = new_token()
    row = ApiToken(user_id=user.id, name=name[:200], token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int, acting_user: User) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != acting_user.id and acting_user.role != Role.admin):
        # Another user's token looks the same as a missing one to a non-admin.
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def token_owner(session: Session, token: str) -> tuple[User | None, int | None]:
    """The active user owning this unrevoked token (or None), and the token's id when its last-used
    time is due to be stamped (see `stamp_token_use`). Reads only."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                 ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None, None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None, None
    due = row.last_used_at is None or utcnow() - row.last_used_at > LAST_USED_RESOLUTION
    return user, row.id if due else None


def stamp_token_use(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = utcnow()
        session.flush()


def ensure_admin_token(session: Session, token: str) -> User:
    """Make `token` a valid token of an active `admin` user (created if missing).

    Tokens this function made earlier from another value are revoked, so rotating the
    environment variable retires the old token.
    """
    if len(token) < 16:
        raise InvalidInput("WINNOW_ADMIN_TOKEN must have at least 16 characters", field="WINNOW_ADMIN_TOKEN")
    user = find_user(session, ADMIN_USERNAME)
    if user is None:
        user = create_user(session, ADMIN_USERNAME, Role.admin)
    user.role, user.is_active = Role.admin, True
    wanted = hash_token(token)
    existing = session.scalars(select(ApiToken).where(ApiToken.token_hash == wanted)).first()
    if existing is not None and existing.user_id != user.id:
        raise Conflict("WINNOW_ADMIN_TOKEN is already the token of another user", field="WINNOW_ADMIN_TOKEN")
    for old in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == ENV_TOKEN_NAME,
                                                      ApiToken.token_hash != wanted, ApiToken.revoked_at.is_(None))):
        old.revoked_at = utcnow()
    if existing is None:
        session.add(ApiToken(user_id=user.id, name=ENV_TOKEN_NAME, token_hash=wanted))
    else:
        existing.revoked_at = None
    session.flush()
    return user

