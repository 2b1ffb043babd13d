"""The example browser (search, filters, sort, keyset pages) and the example page with inline edit."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.auth import Reviewer
from app.deps import SessionDep, SettingsDep
from app.errors import Conflict, InvalidInput
from app.services import paging, review_rules, revisions, similar, web_examples, web_overview
from app.services.datasets import get_dataset
from app.services.examples import update_example
from app.schemas.example import ExampleUpdate
from app.security import safe_local_path
from app.web.diffing import diff_segments
from app.web.forms import FormDep
from app.web.identity import author_of
from app.web.routing import HTMLRoute
from app.web.templating import render, render_htmx

router = APIRouter(route_class=HTMLRoute)
MAX_FILTER_LENGTH = 500
TextQuery = Annotated[str | None, Query(max_length=MAX_FILTER_LENGTH)]


@router.get("/datasets/{dataset_id}/examples", dependencies=[Reviewer])
def browse(
    dataset_id: int, request: Request, session: SessionDep, q: TextQuery = None, status: TextQuery = None,
    label: TextQuery = None, check: TextQuery = None, finding_status: TextQuery = None, sort: str = "oldest",
    after: TextQuery = None, before: TextQuery = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
    meta_key: TextQuery = None, meta_value: TextQuery = None, min_score: TextQuery = None,
    max_score: TextQuery = None, min_length: TextQuery = None, max_length: TextQuery = None,
) -> Response:
    filters = _filters(dict(q=q, status=status, label=label, check=check, finding_status=finding_status, sort=sort,
                            meta_key=meta_key, meta_value=meta_value, min_score=min_score, max_score=max_score,
                            min_length=min_length, max_length=max_length))
    return _list_page(request, session, dataset_id, filters, after=after, before=before, limit=limit)


FILTER_FIELDS = ("q", "status", "label", "check", "finding_status", "sort", "meta_key", "meta_value", "min_score",
                 "max_score", "min_length", "max_length")


@router.get("/datasets/{dataset_id}/examples/count", dependencies=[Reviewer])
def count(dataset_id: int, request: Request, session: SessionDep) -> Response:
    """The count a text search's page left out (the list fetches it once shown), for the list's filters."""
    filters = _filters(dict(request.query_params))
    counted = web_examples.count_examples(session, dataset_id, filters)
    total = counted.total + (1 if counted.capped else 0)
    return render(request, "examples/_count.html", {"total": total, "count_cap": paging.COUNT_CAP, "oob": True})


def _filters(values: dict) -> web_examples.ExampleFilters:
    v = {k: (str(values.get(k)) if values.get(k) is not None else "") for k in FILTER_FIELDS}
    for name, value in v.items():
        if len(value) > MAX_FILTER_LENGTH:
            raise InvalidInput(f"{name} is longer than {MAX_FILTER_LENGTH} characters", field=name)
    return web_examples.ExampleFilters(
        q=v["q"] or None, status=v["status"] or None, label=v["label"] or None, check=v["check"] or None,
        finding_status=v["finding_status"] or None, sort=v["sort"] or "oldest", meta_key=v["meta_key"] or None,
        meta_value=v["meta_value"] if v["meta_key"] and v["meta_value"] else None,
        min_score=_number(v["min_score"], "min_score", float), max_score=_number(v["max_score"], "max_score", float),
        min_length=_number(v["min_length"], "min_length", int), max_length=_number(v["max_length"], "max_length", int))


@router.post("/datasets/{dataset_id}/examples/bulk", dependencies=[Reviewer])
def bulk(dataset_id: int, request: Request, session: SessionDep, form: FormDep) -> Response:
    """Every example matching the list's filters: accepted, rejected, pending again or labelled, after a
    confirmation that states the count."""
    filters = _filters({k: form.get(k) for k in FILTER_FIELDS})
    action, label = str(form.get("bulk_action") or ""), str(form.get("bulk_label") or "").strip() or None
    if not form.get("expected"):
        count = len(review_rules.matching_example_ids(session, dataset_id, filters))
        verb = f"label “{label}”" if action == "label" else {"accept": "accept", "reject": "reject",
                                                              "pending": "set back to pending"}.get(action, action)
        confirm = {"question": f"{verb.capitalize()}: all {count:,} matching example{'s' if count != 1 else ''}?",
                   "count": count, "action": action, "label": label or "", "verb": verb}
        return _list_page(request, session, dataset_id, filters, bulk_confirm=confirm)
    change = review_rules.apply_to_examples(session, dataset_id, filters, action, label, author_of(request),
                                            expected=_number(str(form.get("expected")), "expected", int))
    return _list_page(request, session, dataset_id, filters, bulk_notice=change.summary)


def _list_page(request: Request, session, dataset_id: int, filters, *, after=None, before=None, limit: int = 50,
               **extra) -> Response:
    page = web_examples.browse_examples(session, dataset_id, filters, after=after or None, before=before or None,
                                        limit=limit)
    filter_values = {k: "" if getattr(filters, k) is None else getattr(filters, k) for k in FILTER_FIELDS}
    context = {"dataset": get_dataset(session, dataset_id), "page": page, "filters": filters, "limit": limit,
               "labels": web_overview.distinct_labels(session, dataset_id),
               "checks": web_examples.checks_in_use(session, dataset_id),
               "sorts": list(web_examples.SORTS), "finding_statuses": web_examples.FINDING_STATUSES,
               "filter_values": filter_values, "count_cap": paging.COUNT_CAP,
               "count_url": f"/datasets/{dataset_id}/examples/count?"
                            + urlencode({k: v for k, v in filter_values.items() if v != ""}),
               **extra}
    return render_htmx(request, "examples/list.html", context, block="results")


def _page(request: Request, session: SessionDep, settings, example_id: int, **context) -> dict:
    view = web_examples.example_view(session, example_id)
    return {"view": view, "dataset": view.dataset, "example": view.example, "values": None, "conflict": None,
            "diff": diff_segments, "similar": similar.similar_examples(session, example_id, settings.data_dir),
            **context}


@router.get("/examples/{example_id}", dependencies=[Reviewer])
def show(example_id: int, request: Request, session: SessionDep, settings: SettingsDep,
         back: TextQuery = None) -> Response:
    context = _page(request, session, settings, example_id, back=safe_local_path(back))
    return render(request, "examples/show.html", context)


@router.post("/examples/{example_id}/status", dependencies=[Reviewer])
def set_status(example_id: int, request: Request, session: SessionDep, settings: SettingsDep,
               form: FormDep) -> Response:
    """Accepted, rejected or pending again: a wrong `r` in a queue is taken back here."""
    status = str(form.get("status") or "")
    if status not in ("accepted", "rejected", "pending"):
        raise InvalidInput("the status must be accepted, rejected or pending", field="status")
    update_example(session, example_id, ExampleUpdate(version=_version(form), status=status),
                   author=author_of(request))
    context = _page(request, session, settings, example_id, notice=f"Status set to {status}.",
                    back=safe_local_path(str(form.get("back") or "")))
    return render_htmx(request, "examples/show.html", context, block="example_main")


@router.post("/examples/{example_id}/revisions/{revision_id}/revert", dependencies=[Reviewer])
def revert(example_id: int, revision_id: int, request: Request, session: SessionDep, settings: SettingsDep,
           form: FormDep) -> Response:
    revisions.revert_revision(session, example_id, revision_id, _version(form), author=author_of(request))
    context = _page(request, session, settings, example_id, notice="Change reverted (a new revision records it).",
                    back=safe_local_path(str(form.get("back") or "")))
    return render_htmx(request, "examples/show.html", context, block="example_main")


def _version(form) -> int:
    try:
        return int(str(form.get("version", "")))
    except ValueError as exc:
        raise InvalidInput("the example's version is missing: reload the page", field="version") from exc


@router.post("/examples/{example_id}/edit", dependencies=[Reviewer])
def save(example_id: int, request: Request, session: SessionDep, settings: SettingsDep, form: FormDep) -> Response:
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
    context = _page(request, session, settings, example_id, saved=saved, conflict=conflict,
                    values=values if conflict else None, back=safe_local_path(str(form.get("back") or "")))
    return render_htmx(request, "examples/show.html", context, block="example_main",
                       status_code=409 if conflict else 200)


def _number(text: str | None, field: str, kind: type):
    """An optional number from a filter box: empty is no filter, anything else must be a number >= 0."""
    if text is None or not text.strip():
        return None
    try:
        value = kind(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"{field.replace('_', ' ')} must be a {'whole ' if kind is int else ''}number "
                           f"(got “{text}”)", field=field) from exc
    if value < 0:
        raise InvalidInput(f"{field.replace('_', ' ')} must not be negative", field=field)
    return value
