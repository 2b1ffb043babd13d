"""The example browser (search, filters, sort, keyset pages) and the example page with inline edit."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth import Reviewer
from app.deps import SessionDep
from app.errors import Conflict, InvalidInput
from app.security import safe_local_path
from app.services import web_examples, web_overview
from app.services.datasets import get_dataset
from app.web.forms import FormDep
from app.web.identity import author_of
from app.web.routing import HTMLRoute
from app.web.templating import render, render_htmx

router = APIRouter(route_class=HTMLRoute)
TextQuery = Annotated[str | None, Query(max_length=500)]


@router.get("/datasets/{dataset_id}/examples", dependencies=[Reviewer])
def browse(
    dataset_id: int, request: Request, session: SessionDep, q: TextQuery = None, status: TextQuery = None,
    label: TextQuery = None, check: TextQuery = None, finding_status: TextQuery = None, sort: str = "oldest",
    after: TextQuery = None, before: TextQuery = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    filters = web_examples.ExampleFilters(q=q or None, status=status or None, label=label or None,
                                          check=check or None, finding_status=finding_status or None, sort=sort)
    page = web_examples.browse_examples(session, dataset_id, filters, after=after or None, before=before or None,
                                        limit=limit)
    context = {"dataset": get_dataset(session, dataset_id), "page": page, "filters": filters, "limit": limit,
               "labels": web_overview.distinct_labels(session, dataset_id),
               "checks": web_examples.checks_in_use(session, dataset_id),
               "sorts": list(web_examples.SORTS), "finding_statuses": web_examples.FINDING_STATUSES}
    return render_htmx(request, "examples/list.html", context, block="results")


@router.get("/examples/{example_id}", dependencies=[Reviewer])
def show(example_id: int, request: Request, session: SessionDep, back: TextQuery = None) -> Response:
    view = web_examples.example_view(session, example_id)
    return render(request, "examples/show.html", {"view": view, "dataset": view.dataset, "example": view.example,
                                                  "values": None, "conflict": None, "back": safe_local_path(back)})


@router.post("/examples/{example_id}/edit", dependencies=[Reviewer])
def save(example_id: int, request: Request, session: SessionDep, form: FormDep) -> Response:
    values = {name: (str(form[name]) if name in form else None) for name in web_examples.EDIT_FIELDS}
    try:
        version = int(str(form.get("version", "")))
    except ValueError as exc:
        raise InvalidInput("version is missing: reload the page", field="version") from exc
    conflict, saved = None, False
    try:
        web_examples.save_edit(session, example_id, version, values, author=author_of(request))
        saved = True
    except Conflict as exc:
        conflict = exc.message
    view = web_examples.example_view(session, example_id)
    context = {"view": view, "dataset": view.dataset, "example": view.example, "saved": saved,
               "conflict": conflict, "values": values if conflict else None, "back": safe_local_path(str(form.get("back") or ""))}
    return render_htmx(request, "examples/show.html", context, block="example_main",
                       status_code=409 if conflict else 200)
