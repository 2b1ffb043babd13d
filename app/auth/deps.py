"""Who is asking: a Bearer token (API) or the session cookie (browser); the roles routes declare.

`require_api_user` guards the /api/v1 router and `require_page_user` the HTML router, as router
dependencies, so every route added under them needs a signed-in user. Which role a route needs is
declared on the route itself, never inferred from its path: `dependencies=[Admin]` (admins only),
`[Reviewer]` (any signed-in user: reviewers read, review and edit pairs) or `[Public]` (the sign-in
pages). tests/security/test_route_protection.py fails on any route that declares none.
`CurrentUserDep` gives a handler the user; `AdminDep` / `ReviewerDep` the user, role checked.
"""

import ipaddress
import logging
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.auth import sessions
from app.config import Settings
from app.db import session_scope
from app.deps import SettingsDep
from app.errors import Forbidden
from app.models import Role, User
from app.services import users as users_service

log = logging.getLogger("winnow.auth")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """A page was asked for without a session: the browser is sent to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_request(request: Request) -> bool:
    """The connection arrived on a loopback socket from a loopback peer."""
    server = request.scope.get("server") or (None, None)
    client = request.scope.get("client") or (None, None)
    return _is_loopback(server[0]) and _is_loopback(client[0])


LOCAL_ADMIN = User(id=None, username="local", role=Role.admin, is_active=True)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise _unauthorized("the Authorization header must be 'Bearer <token>'")
    return credentials.strip()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def _user_from_cookie(request: Request, session: Session, settings: Settings) -> User | None:
    data = sessions.read_session(request, settings)
    if data is None:
        return None
    user = session.get(User, data["uid"])
    if user is None or not user.is_active or not sessions.session_matches(user, data):
        return None
    request.state.ambient_credentials = True  # the browser sends it by itself, also on cross-site requests
    return user


def optional_user(request: Request, settings: SettingsDep) -> User | None:
    """The signed-in user, or None. A Bearer token that is wrong or revoked is an error, not None.

    The lookup runs in a short read-only transaction of its own, not in the request's: it never takes
    SQLite's write lock, and an import must not hold a transaction while its upload is still arriving.
    A token's last-used time, when due (at most every few minutes), is written in a second short one.
    """
    with session_scope(read_only=True) as session:
        user = _identify(request, session, settings)
    token_id = getattr(request.state, "token_to_stamp", None)
    if token_id is not None:
        try:
            with session_scope() as session:
                users_service.stamp_token_use(session, token_id)
        except OperationalError:  # best effort: never fail a request over a last-used time
            log.warning("could not record the use of API token %s", token_id, exc_info=True)
    return user


def _identify(request: Request, session: Session, settings: Settings) -> User | None:
    if not settings.auth_enabled:
        request.state.auth_off = True  # templates show a banner
        # The Host check stops DNS rebinding: a web page cannot make its own domain point at 127.0.0.1.
        if not (local_request(request) and _is_loopback(request.url.hostname)):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "authentication is off (WINNOW_AUTH=off), so this server only answers on 127.0.0.1")
        # Any web page the local user visits can send requests here: writes must come from this site.
        request.state.ambient_credentials = True
        return LOCAL_ADMIN
    token = _bearer(request)
    if token is not None:
        user, stamp = users_service.token_owner(session, token)
        request.state.token_to_stamp = stamp
        if user is None:
            raise _unauthorized("the API token is unknown, revoked, or its user is disabled")
        return user
    return _user_from_cookie(request, session, settings)


OptionalUserDep = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUserDep) -> User:
    if user is None:
        raise _unauthorized("authentication required: send 'Authorization: Bearer <token>' or sign in at /login")
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]


def require_admin(user: CurrentUserDep) -> User:
    if user.role != Role.admin:
        raise Forbidden("this action needs the admin role", role=user.role)
    return user


AdminDep = Annotated[User, Depends(require_admin)]


def require_reviewer(user: CurrentUserDep) -> User:
    """Any signed-in user: reviewers (read, review, edit pairs) and admins."""
    return user


ReviewerDep = Annotated[User, Depends(require_reviewer)]


def public_route() -> None:
    """Declares a route open to everyone (only the sign-in pages are)."""


# What a route declares in `dependencies=[...]`.
Admin = Depends(require_admin)
Reviewer = Depends(require_reviewer)
Public = Depends(public_route)
ROLE_OF_DEPENDENCY = {require_admin: "admin", require_reviewer: "reviewer", public_route: "public"}


def declared_roles(route) -> set[str]:
    """The roles a route declares (router-level declarations included): {"admin"}, {"reviewer"}, {"public"} or set()."""
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call in ROLE_OF_DEPENDENCY:
            found.add(ROLE_OF_DEPENDENCY[dependant.call])
        stack.extend(dependant.dependencies)
    return found


def _same_origin(request: Request) -> bool:
    """For cookie-authenticated API writes: the browser says the request came from this site."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin:
        return origin == own
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return request.headers.get("sec-fetch-site") == "same-origin"


def require_api_user(request: Request, user: CurrentUserDep) -> User:
    """Router dependency of /api/v1: 401 without credentials (the route declares the role it needs)."""
    if (getattr(request.state, "ambient_credentials", False) and request.method not in SAFE_METHODS
            and not _same_origin(request)):
        raise Forbidden("a cookie-authenticated API write must come from this site; scripts should use a token")
    return user


def require_page_user(request: Request, user: OptionalUserDep) -> User:
    """Router dependency of the HTML pages: no session sends the browser to /login."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    request.state.user = user  # for templates: who is signed in
    return user


def login_url(next_url: str) -> str:
    return "/login" if next_url in ("", "/") else f"/login?next={quote(next_url, safe='/')}"
