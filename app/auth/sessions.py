"""The browser session: a signed, timestamped cookie naming the user.

The cookie carries the user id, a fingerprint of the password hash and the user's session version,
a counter kept in the database that logout, disabling and a password change bump: any of those ends
every session of that user at once, on the server, whatever cookies are still around. It is HttpOnly and SameSite=Lax, and Secure
when the request came over https or WINNOW_SECURE_COOKIES=true.
"""

import hashlib

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth.keys import secret_key
from app.config import Settings
from app.models import User

COOKIE_NAME = "winnow_session"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt="winnow-session")


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def session_value(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "pw": _fingerprint(user), "sv": user.session_version})


def read_session(request: Request, settings: Settings) -> dict | None:
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(settings.session_hours * 3600))
    except BadSignature:  # includes SignatureExpired
        return None
    return data if isinstance(data, dict) and isinstance(data.get("uid"), int) else None


def session_matches(user: User, data: dict) -> bool:
    return data.get("pw") == _fingerprint(user) and data.get("sv") == user.session_version


def is_secure(request: Request, settings: Settings) -> bool:
    return settings.secure_cookies or request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, user: User, settings: Settings) -> str:
    value = session_value(user)
    response.set_cookie(COOKIE_NAME, value, max_age=int(settings.session_hours * 3600),
                        httponly=True, samesite="lax", secure=is_secure(request, settings), path="/")
    return value


def clear_session_cookie(request: Request, response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax", secure=is_secure(request, settings), path="/")
