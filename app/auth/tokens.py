"""API tokens: random, shown once, stored only as their sha256."""

import hashlib
import secrets

TOKEN_PREFIX = "wnw_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
