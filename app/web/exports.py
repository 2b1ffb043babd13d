"""The export form: a live preview of split counts per label, then the export and its files."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, QueryParams

from app.auth import Admin, Reviewer
from app.checks.registry import CHECKS
from app.deps import SessionDep, SettingsDep
from app.errors import Conflict, InvalidInput
from app.exports import FORMATS
from app.task_types import TaskType
from app.schemas.export import DEFAULT_EXCLUDED_CHECKS, ExportParams
from app.services import exports, training_view
from app.services.datasets import get_dataset
from app.web.forms import FormDep, FormErrors, build
from app.web.routing import HTMLRoute
from app.web.templating import render, render_htmx

router = APIRouter(route_class=HTMLRoute)
SPLITS = ("train", "validation", "test")
PREFERENCE_DEFAULT_FORMAT = "trl_preference"
DEFAULT_VALUES = {"format": "openai_chat", "seed": "42", "dedupe": "keep_one", "epochs": "3", "max_examples": "",
                  "selection": "diverse",
                  "include_status": ["accepted", "pending"], "exclude_checks": list(DEFAULT_EXCLUDED_CHECKS),
                  "split_train": "0.8", "split_validation": "0.1", "split_test": "0.1"}


def _values(fields: FormData | QueryParams) -> dict:
    values = {key: str(fields.get(key, DEFAULT_VALUES.get(key, ""))) for key in
              ("format", "seed", "dedupe", "epochs", "max_examples", "selection", *(f"split_{s}" for s in SPLITS))}
    values["include_status"] = [str(v) for v in fields.getlist("include_status")]
    values["exclude_checks"] = [str(v) for v in fields.getlist("exclude_checks")]
    return values


def _params(values: dict) -> ExportParams:
    splits = {}
    for name in SPLITS:
        try:
            splits[name] = float(values[f"split_{name}"] or 0)
        except ValueError as exc:
            raise FormErrors({"splits": f"the {name} ratio must be a number"}) from exc
    return build(ExportParams, {"format": values["format"], "seed": values["seed"], "dedupe": values["dedupe"],
                                "epochs": values["epochs"], "splits": splits,
                                "include_status": values["include_status"], "exclude_checks": values["exclude_checks"],
                                "max_examples": values["max_examples"].strip() or None,
                                "selection": values["selection"] or "diverse"})


@router.get("/examples/{example_id}/training-view", dependencies=[Reviewer])
def example_training_view(example_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                          mode: str = "assistant") -> Response:
    """The pair rendered with the dataset's chat template, trained tokens marked (an htmx fragment)."""
    view = training_view.example_training_view(session, example_id, mode, settings)
    return render(request, "examples/_training_view.html", {"tv": view})


@router.get("/datasets/{dataset_id}/export/training-view", dependencies=[Admin])
def export_training_view(dataset_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                         format: str = "openai_chat") -> Response:
    """A sample pair as the chosen format's trainer trains on it (the export preview)."""
    example, view = training_view.export_sample_view(session, dataset_id, format, settings)
    return render(request, "examples/_training_view.html", {"tv": view, "sample": example})


def _context(session, dataset_id: int, values: dict, **extra) -> dict:
    dataset = get_dataset(session, dataset_id)
    formats = [name for name, declared in FORMATS.items() if dataset.task_type in declared.task_types]
    # The checks that run on this kind of dataset (a preference check's findings never exist on SFT data).
    checks = [name for name, check in CHECKS.items() if dataset.task_type in check.task_types]
    return {"dataset": dataset, "values": values, "formats": formats, "checks": checks, "splits": SPLITS, **extra}


@router.get("/datasets/{dataset_id}/export", dependencies=[Admin])
def export_form(dataset_id: int, request: Request, session: SessionDep) -> Response:
    values = dict(DEFAULT_VALUES)
    if get_dataset(session, dataset_id).task_type == TaskType.preference:
        values["format"] = PREFERENCE_DEFAULT_FORMAT
    return render(request, "datasets/export.html", _context(session, dataset_id, values))


@router.get("/datasets/{dataset_id}/export/preview", dependencies=[Admin])
def preview(dataset_id: int, request: Request, session: SessionDep) -> Response:
    """Split counts per label for the form's current values (read-only, so a GET)."""
    values = _values(request.query_params)
    try:
        counts, errors = exports.preview_split_counts(session, dataset_id, _params(values)), {}
    except FormErrors as exc:
        counts, errors = None, exc.errors
    except (InvalidInput, Conflict) as exc:  # Conflict: a reference set, never exported
        counts, errors = None, {str(exc.details.get("field") or "form"): exc.message}
    return render_htmx(request, "datasets/export.html", _context(session, dataset_id, values, preview=counts,
                                                                   errors=errors), block="preview")


@router.post("/datasets/{dataset_id}/exports", dependencies=[Admin])
def create_export(dataset_id: int, request: Request, session: SessionDep, settings: SettingsDep,
                  form: FormDep) -> Response:
    values = _values(form)
    try:
        export = exports.create_export(session, dataset_id, _params(values), settings)
    except FormErrors as exc:
        return render_htmx(request, "datasets/export.html", _context(session, dataset_id, values, errors=exc.errors),
                           block="outcome", status_code=422)
    return render_htmx(request, "datasets/export.html", _context(session, dataset_id, values, export=export,
                                                                   files=exports.to_public(export).files),
                       block="outcome", status_code=201)
