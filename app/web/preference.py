"""Preference pairs on the example page: swap the chosen and the rejected answers."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import Reviewer
from app.deps import SessionDep
from app.errors import InvalidInput
from app.services import preference
from app.web.forms import FormDep
from app.web.identity import author_of
from app.web.routing import HTMLRoute

router = APIRouter(route_class=HTMLRoute)


@router.post("/examples/{example_id}/swap", dependencies=[Reviewer])
def swap(example_id: int, request: Request, session: SessionDep, form: FormDep) -> Response:
    try:
        version = int(str(form.get("version", "")))
    except ValueError as exc:
        raise InvalidInput("version is missing: reload the page", field="version") from exc
    preference.swap_sides(session, example_id, author_of(request), version)
    back = str(form.get("back") or "")
    suffix = f"?back={quote(back, safe='')}" if back.startswith("/") and not back.startswith("//") else ""
    return RedirectResponse(f"/examples/{example_id}{suffix}", status_code=303)
