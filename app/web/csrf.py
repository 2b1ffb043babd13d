"""CSRF protection for the HTML pages: a signed double-submit token.

The browser gets a random token signed with itsdangerous in a cookie; every page carries the same
token in `<meta name="csrf-token">` (htmx sends it as the `X-CSRF-Token` header, see static/app.js)
and in a hidden `csrf_token` field of every form (so forms also work without JavaScript). A
state-changing request is refused unless the submitted token equals the cookie and its signature
is valid. A cross-site page can make the browser send the cookie, but cannot read it to echo it.

The token is bound to the browser's session: it carries a digest of the session cookie it was issued
with, and is valid only alongside that same session. A token taken anonymously (from /login) or from
another session is refused, and signing in issues a fresh one (`rotate`).
"""

import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeSerializer

from app.auth.keys import secret_key
from app.auth.sessions import COOKIE_NAME as SESSION_COOKIE_NAME
from app.errors import Forbidden

COOKIE_NAME = "winnow_csrf"
HEADER_NAME = "x-csrf-token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(), salt="winnow-csrf")


def _binding(session_cookie: str | None) -> str:
    return hashlib.sha256((session_cookie or "").encode()).hexdigest()[:32]


def _new_token(session_cookie: str | None) -> str:
    return _serializer().dumps({"nonce": secrets.token_urlsafe(24), "session": _binding(session_cookie)})


def _valid(token: str | None, session_cookie: str | None) -> bool:
    if not token:
        return False
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return False
    return isinstance(data, dict) and hmac.compare_digest(str(data.get("session", "")), _binding(session_cookie))


def token_for(request: Request) -> str:
    """The browser's current token, or a new one (remembered on the request so the cookie gets set)."""
    existing = request.cookies.get(COOKIE_NAME)
    if _valid(existing, request.cookies.get(SESSION_COOKIE_NAME)):
        return existing
    if not hasattr(request.state, "new_csrf_token"):
        request.state.new_csrf_token = _new_token(request.cookies.get(SESSION_COOKIE_NAME))
    return request.state.new_csrf_token


def _set_cookie(request: Request, response: Response, token: str) -> None:
    # Not HttpOnly-critical (the token is also in the page), but HttpOnly costs nothing: app.js
    # reads the meta tag, never the cookie.
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def set_cookie_if_new(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(COOKIE_NAME) != token:
        _set_cookie(request, response, token)


def rotate(request: Request, response: Response, session_cookie: str | None) -> None:
    """At sign-in (or sign-out): a fresh token bound to the session the response starts."""
    _set_cookie(request, response, _new_token(session_cookie))


async def require_csrf(request: Request) -> None:
    """Router dependency: refuse a state-changing request without the matching token."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(COOKIE_NAME)
    submitted = request.headers.get(HEADER_NAME)
    content_type = request.headers.get("content-type", "")
    if not submitted and content_type.startswith("application/x-www-form-urlencoded"):
        # Only url-encoded forms are read here; multipart uploads must send the header (htmx does),
        # so that a large file is never parsed before the token is checked.
        submitted = (await request.form()).get(FORM_FIELD)
    if not (cookie and isinstance(submitted, str) and hmac.compare_digest(cookie, submitted)
            and _valid(cookie, request.cookies.get(SESSION_COOKIE_NAME))):
        raise Forbidden("the form has expired or did not come from this site (CSRF token missing or wrong); "
                        "reload the page and try again", field=FORM_FIELD)
