"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations), and
which passwords are refused outright."""

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified when the username is unknown, so that a login takes as long whether or not the user exists.
_DUMMY_HASH = _hasher.hash("winnow-no-such-user")

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # The 30,000 most common passwords of leaked password sets, as packaged (and maintained) by zxcvbn.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why this password may not be set, or None."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
    if all(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in password):
        return "a password must not be only spaces or control characters"
    if password.casefold() in _common_passwords() or password.strip().casefold() in _common_passwords():
        return "this password is one of the most common ones; choose another"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
