from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.auth import Admin, CurrentUserDep, Reviewer
from app.db import end_read_transaction
from app.deps import CountQuery, CursorQuery, LimitQuery, OffsetQuery, SessionDep, SettingsDep
from app.importers import FORMATS as IMPORT_FORMATS
from app.importers import open_source
from app.importers.reader import ImportStopped
from app.schemas.common import CursorPage, ErrorBody
from app.schemas.example import ExampleCreate, ExamplePublic, ExampleUpdate, ImportResult, RevisionPublic, SwapSides
from app.services import examples as service
from app.services import preference
from app.services.import_validation import Parallelism
from app.services.paging import CountMode
from app.services.imports import OnError, check_rated_margin, run_import
from app.uploads import spool_request_body, stop_on_disconnect

router = APIRouter(tags=["examples"])

# From the import format registry: a new format module is accepted here (and documented in OpenAPI) as it is.
ImportFormat = Literal[("auto", *IMPORT_FORMATS)]
IMPORT_BODY_DOC = {
    "requestBody": {
        "description": "JSONL (`application/x-ndjson`), a JSON array, CSV (`text/csv`), or a multipart form "
                       "with the file in the `file` field.",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
        },
    },
}
IMPORT_RESPONSES = {422: {"model": ImportResult | ErrorBody,
                          "description": "with on_error=abort: a bad line imports nothing (or a bad query parameter)"},
                    413: {"description": "the body is larger than WINNOW_MAX_BODY_BYTES"}}


@router.post("/datasets/{dataset_id}/import", dependencies=[Admin], response_model=ImportResult, openapi_extra=IMPORT_BODY_DOC,
             responses=IMPORT_RESPONSES)
async def import_examples(
    dataset_id: int, request: Request, session: SessionDep, settings: SettingsDep,
    format: Annotated[ImportFormat, Query(description="record format; auto detects it per file")] = "auto",
    on_error: Annotated[OnError, Query(description="abort: one bad line imports nothing; skip: import the rest")]
    = OnError.abort,
    rated_margin: Annotated[float | None, Query(gt=0, description="rated format: every pair whose scores differ "
                                                                  "by at least this much (default: best vs worst)")]
    = None,
) -> JSONResponse:
    end_read_transaction(session)  # so that SQLite's write lock is not held during upload and validation
    async with spool_request_body(request, settings.max_body_bytes) as upload, stop_on_disconnect(request) as gone:
        source = open_source(upload.file, filename=upload.filename, content_type=upload.content_type, format=format,
                             options=check_rated_margin(rated_margin), stop=gone,
                             max_csv_columns=settings.import_max_csv_columns,
                             max_line_length=settings.import_max_line_length)
        try:
            outcome = await run_in_threadpool(
                run_import, session, dataset_id, source, on_error=on_error, batch_size=settings.import_batch_size,
                parallelism=Parallelism.from_settings(settings),
            )
        except ImportStopped as exc:  # the client went away: nothing is kept, and nobody reads the answer
            session.rollback()
            return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_400_BAD_REQUEST)
    result = ImportResult(imported=outcome.imported, updated=outcome.updated, skipped=outcome.skipped,
                          format=outcome.format, errors=[asdict(e) for e in outcome.errors],
                          already_in_other_datasets=outcome.already_in_other_datasets)
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if outcome.aborted else status.HTTP_200_OK
    return JSONResponse(result.model_dump(), status_code=code)


@router.post("/datasets/{dataset_id}/examples", dependencies=[Admin], status_code=status.HTTP_201_CREATED, response_model=ExamplePublic)
def create_example(dataset_id: int, data: ExampleCreate, session: SessionDep) -> ExamplePublic:
    return ExamplePublic.of(service.create_example(session, dataset_id, data))


@router.get("/datasets/{dataset_id}/examples", dependencies=[Reviewer], response_model=CursorPage[ExamplePublic])
def list_examples(
    dataset_id: int, session: SessionDep, limit: LimitQuery = 50, offset: OffsetQuery = 0,
    cursor: CursorQuery = None, count: CountQuery = "capped",
    order: Annotated[Literal["asc", "desc"], Query(description="by id: asc = oldest first, desc = newest first")]
    = "asc",
    status: Literal["pending", "accepted", "rejected"] | None = None,
    label: Annotated[str | None, Query(max_length=500)] = None,
    check: Annotated[str | None, Query(max_length=50, description="only examples with a finding of this check "
                                                                  "(open, unless finding_status says otherwise)")] = None,
    q: Annotated[str | None, Query(max_length=500, description="text contained in the input or output")] = None,
    finding_status: Annotated[Literal["open", "dismissed", "resolved"] | None,
                              Query(description="only examples with a finding in this status (of `check`, if given)")]
    = None,
) -> CursorPage[ExamplePublic]:
    page = service.list_examples(session, dataset_id, status=status, label=label, check=check, q=q,
                                 finding_status=finding_status, limit=limit, offset=offset, cursor=cursor,
                                 descending=order == "desc", count=CountMode(count))
    return CursorPage(items=[ExamplePublic.of(e) for e in page.items], total=page.total,
                      total_capped=page.total_capped, next_cursor=page.next_cursor)


@router.get("/examples/{example_id}", dependencies=[Reviewer], response_model=ExamplePublic)
def get_example(example_id: int, session: SessionDep) -> ExamplePublic:
    return ExamplePublic.of(service.get_example(session, example_id))


@router.patch("/examples/{example_id}", dependencies=[Reviewer], response_model=ExamplePublic, responses={409: {"description": "stale version"}})
def update_example(example_id: int, data: ExampleUpdate, session: SessionDep, user: CurrentUserDep) -> ExamplePublic:
    return ExamplePublic.of(service.update_example(session, example_id, data, author=user.username))


@router.post("/examples/{example_id}/swap", dependencies=[Reviewer], response_model=ExamplePublic,
             responses={409: {"description": "stale version"}, 422: {"description": "not a preference pair"}})
def swap_example_sides(example_id: int, data: SwapSides, session: SessionDep, user: CurrentUserDep) -> ExamplePublic:
    """Preference pairs: the rejected answer becomes the chosen one and vice versa (one revision)."""
    return ExamplePublic.of(preference.swap_sides(session, example_id, user.username, data.version))


@router.delete("/examples/{example_id}", dependencies=[Admin], status_code=status.HTTP_204_NO_CONTENT)
def delete_example(example_id: int, session: SessionDep) -> Response:
    service.delete_example(session, example_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/examples/{example_id}/revisions", dependencies=[Reviewer], response_model=list[RevisionPublic])
def list_revisions(example_id: int, session: SessionDep) -> list[RevisionPublic]:
    return [RevisionPublic.model_validate(r) for r in service.list_revisions(session, example_id)]
