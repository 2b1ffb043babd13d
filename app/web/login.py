"""Sign in (password -> session cookie) and sign out. These two pages are the only public ones."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import Public, sessions
from app.auth.throttle import throttle_of
from app.db import session_scope
from app.deps import SessionDep, SettingsDep
from app.services import users as users_service
from app.models import User
from app.security import safe_local_path
from app.web import csrf
from app.web.csrf import require_csrf
from app.web.routing import HTMLRoute
from app.web.templating import render

router = APIRouter(route_class=HTMLRoute, dependencies=[Depends(require_csrf)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site (no open redirect): see app.security.safe_local_path."""
    return safe_local_path(target) or "/"


@router.get("/login", dependencies=[Public])
def login_page(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "auth_off": not settings.auth_enabled})


@router.post("/login", dependencies=[Public])
async def login(
    request: Request, settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    throttle = throttle_of(request.app)
    # The socket's peer, or what a proxy named in WINNOW_TRUSTED_PROXIES forwarded (`winnow serve` sets that up).
    address = request.client.host if request.client else "-"
    if wait := await run_in_threadpool(throttle.reserve, username, address):
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": f"too many failed sign-ins; try again in {wait // 60 + 1} min"},
                      status_code=429, headers={"Retry-After": str(wait)})
    user = await run_in_threadpool(_authenticate, username, password)
    if user is None:  # the reserved attempt stays counted
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": "wrong username or password"}, status_code=401)
    await run_in_threadpool(throttle.succeeded, username, address)
    response = RedirectResponse(safe_next(next), status_code=303)
    cookie = sessions.set_session_cookie(request, response, user, settings)
    csrf.rotate(request, response, cookie)
    return response


def _authenticate(username: str, password: str) -> User | None:
    # A transaction of its own, committed before the throttle writes (one writer at a time on SQLite).
    with session_scope() as session:
        return users_service.authenticate(session, username, password)


@router.post("/logout", dependencies=[Public])
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Ends every session of the user on the server, not only this browser's cookie."""
    data = sessions.read_session(request, settings)
    if data is not None:
        user = session.get(User, data["uid"])
        if user is not None and sessions.session_matches(user, data):
            users_service.end_sessions(session, user.id)
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_session_cookie(request, response, settings)
    csrf.rotate(request, response, None)
    return response
