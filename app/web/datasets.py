"""Datasets: list, create, the dataset page and the file upload."""

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import Admin, Reviewer
from app.deps import SessionDep, SettingsDep
from app.errors import Conflict, InvalidInput
from app.importers import FORMATS, open_source
from app.importers.reader import ImportStopped
from app.schemas.dataset import DatasetCreate
from app.services import references
from app.services import datasets as datasets_service
from app.services import web_overview
from app.services.import_validation import Parallelism
from app.services.imports import OnError, check_format, check_rated_margin, run_import
from app.uploads import spool_request_body, stop_on_disconnect
from app.web.forms import FormDep, FormErrors, build, domain_field_errors, parse_json_object, split_labels
from app.web.review_queue import check_title
from app.web.routing import HTMLRoute
from app.web.templating import is_htmx, render, render_htmx

router = APIRouter(route_class=HTMLRoute)


@router.get("/", dependencies=[Reviewer])
def list_datasets(request: Request, session: SessionDep) -> Response:
    cards, total = web_overview.dataset_cards(session)
    return render(request, "datasets/list.html", {"cards": cards, "total": total})


@router.get("/datasets/new", dependencies=[Reviewer])
def new_dataset(request: Request) -> Response:
    return render(request, "datasets/new.html", {"values": {"task_type": "generation"}, "errors": {}})


@router.post("/datasets", dependencies=[Admin])
def create_dataset(request: Request, session: SessionDep, form: FormDep) -> Response:
    values = {key: str(form.get(key, "")) for key in ("name", "description", "task_type", "role", "label_set",
                                                      "output_schema")}
    try:
        data = build(DatasetCreate, {
            "name": values["name"], "description": values["description"], "task_type": values["task_type"] or "generation",
            "role": values["role"] or "training",
            "label_set": split_labels(values["label_set"]),
            "output_schema": parse_json_object(values["output_schema"], "output_schema"),
        })
        dataset = datasets_service.create_dataset(session, data)
    except FormErrors as exc:
        errors = exc.errors
    except (Conflict, InvalidInput) as exc:
        errors = domain_field_errors(exc)
    else:
        url = f"/datasets/{dataset.id}"
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)
    return render_htmx(request, "datasets/new.html", {"values": values, "errors": errors}, block="form",
                       status_code=422)


def _references_context(session, dataset) -> dict:
    reference_sets = datasets_service.reference_sets(session)
    return {"reference_sets": reference_sets, "reference_names": {ref.id: ref.name for ref in reference_sets},
            "chosen_references": set(references.reference_ids(dataset.settings))}


@router.get("/datasets/{dataset_id}", dependencies=[Reviewer])
def show_dataset(dataset_id: int, request: Request, session: SessionDep) -> Response:
    card = web_overview.dataset_card(session, dataset_id)
    formats = ["auto", *(name for name, declared in FORMATS.items() if card.dataset.task_type in declared.task_types)]
    return render(request, "datasets/show.html", {"card": card, "dataset": card.dataset, "formats": formats,
                                                  "check_title": check_title,
                                                  **_references_context(session, card.dataset)})


@router.post("/datasets/{dataset_id}/references", dependencies=[Admin])
def save_references(dataset_id: int, request: Request, session: SessionDep, form: FormDep) -> Response:
    chosen = [int(value) for value in form.getlist("reference_datasets") if str(value).isdigit()]
    dataset = datasets_service.set_references(session, dataset_id, chosen)
    if not is_htmx(request):
        return RedirectResponse(f"/datasets/{dataset_id}", status_code=303)
    return render_htmx(request, "datasets/_references.html", {"dataset": dataset, "saved": True,
                                                              **_references_context(session, dataset)},
                       block="references")


@router.post("/datasets/{dataset_id}/upload", dependencies=[Admin])
async def upload(dataset_id: int, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """A JSONL/CSV/JSON file from the upload form; answers the outcome with its per-line errors."""
    async with spool_request_body(request, settings.max_body_bytes) as upload, stop_on_disconnect(request) as gone:
        form = await request.form()  # already parsed (and cached) by spool_request_body
        format = check_format(str(form.get("format") or "auto"))
        try:
            on_error = OnError(str(form.get("on_error") or "abort"))
        except ValueError as exc:
            raise InvalidInput("on_error must be abort or skip", field="on_error") from exc
        margin = str(form.get("rated_margin") or "").strip()
        try:
            options = check_rated_margin(float(margin) if margin else None)
        except ValueError as exc:
            raise InvalidInput("rated_margin must be a number > 0", field="rated_margin") from exc
        source = open_source(upload.file, filename=upload.filename, content_type=upload.content_type, format=format,
                             options=options, stop=gone, max_csv_columns=settings.import_max_csv_columns,
                             max_line_length=settings.import_max_line_length)
        try:
            outcome = await run_in_threadpool(run_import, session, dataset_id, source, on_error=on_error,
                                              batch_size=settings.import_batch_size,
                                              parallelism=Parallelism.from_settings(settings))
        except ImportStopped as exc:  # the browser went away: nothing is kept
            session.rollback()
            raise InvalidInput(str(exc)) from exc
    card = web_overview.dataset_card(session, dataset_id)
    context = {"outcome": outcome, "errors": [asdict(e) for e in outcome.errors], "filename": upload.filename,
               "dataset": card.dataset, "card": card}
    return render_htmx(request, "datasets/upload_result.html", context, block="result",
                       status_code=422 if outcome.aborted else 200)
