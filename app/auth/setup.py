"""Wiring into the app: the /login redirect for pages, start-up bootstrap of the first admin."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.auth.deps import LoginRequired, login_url

log = logging.getLogger("winnow.auth")

AUTH_OFF_WARNING = (
    "\n" + "!" * 78 + "\n"
    "!!  WINNOW_AUTH=off: AUTHENTICATION IS DISABLED. Every request acts as an admin.\n"
    "!!  Only requests arriving on 127.0.0.1/localhost are answered; bind to 127.0.0.1.\n"
    + "!" * 78
)


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = login_url(exc.next_url)
        if request.headers.get("hx-request") == "true":
            # htmx would swap a redirected login page into a fragment; tell it to navigate instead.
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)


def on_startup(settings: Settings) -> None:
    """Warn when auth is off; make WINNOW_ADMIN_TOKEN a valid token of the `admin` user."""
    if not settings.auth_enabled:
        log.warning(AUTH_OFF_WARNING)
    if settings.admin_token:
        from app.db import session_scope
        from app.services.users import ensure_admin_token

        from sqlalchemy.exc import IntegrityError

        for attempt in range(3):
            try:
                with session_scope() as session:
                    ensure_admin_token(session, settings.admin_token)
                break
            except IntegrityError:  # several workers starting at once: another one created the admin
                if attempt == 2:
                    raise
        log.info("the admin user's token is WINNOW_ADMIN_TOKEN")
