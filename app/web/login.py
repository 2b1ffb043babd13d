"""Sign in (password -> session cookie) and sign out. These two pages are the only public ones."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import sessions
from app.auth.throttle import throttle_of
from app.deps import SessionDep, SettingsDep
from app.services import users as users_service
from app.web.csrf import require_csrf
from app.web.routing import HTMLRoute
from app.web.templating import render

router = APIRouter(route_class=HTMLRoute, dependencies=[Depends(require_csrf)], include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://evil.example` (open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    return render(request, "login.html", {"next": safe_next(next), "auth_off": not settings.auth_enabled})


@router.post("/login")
async def login(
    request: Request, session: SessionDep, settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    throttle = throttle_of(request.app)
    address = request.client.host if request.client else "-"
    if wait := throttle.retry_after(username, address):
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": f"too many failed sign-ins; try again in {wait // 60 + 1} min"},
                      status_code=429, headers={"Retry-After": str(wait)})
    user = await run_in_threadpool(users_service.authenticate, session, username, password)
    if user is None:
        throttle.failed(username, address)
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": "wrong username or password"}, status_code=401)
    throttle.succeeded(username)
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_session_cookie(request, response, user, settings)
    return response


@router.post("/logout")
def logout(request: Request, settings: SettingsDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_session_cookie(request, response, settings)
    return response
