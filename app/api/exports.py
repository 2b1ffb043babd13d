from fastapi import APIRouter, status
from fastapi.responses import FileResponse

from app.auth import Admin
from app.deps import LimitQuery, OffsetQuery, SessionDep, SettingsDep
from app.schemas.common import Page
from app.schemas.export import ExportParams, ExportPublic, SplitPreview
from app.services import exports as service

router = APIRouter(tags=["exports"])

MEDIA_TYPES = {".jsonl": "application/x-ndjson", ".json": "application/json", ".md": "text/markdown; charset=utf-8",
               ".zip": "application/zip"}


@router.post("/datasets/{dataset_id}/exports", dependencies=[Admin], status_code=status.HTTP_201_CREATED, response_model=ExportPublic)
def create_export(dataset_id: int, session: SessionDep, settings: SettingsDep,
                  params: ExportParams | None = None) -> ExportPublic:
    """Select, split (stratified, duplicate groups whole, leakage verified) and write the files."""
    return service.to_public(service.create_export(session, dataset_id, params or ExportParams(), settings))


@router.post("/datasets/{dataset_id}/exports/preview", dependencies=[Admin], response_model=SplitPreview)
def preview_export(dataset_id: int, session: SessionDep, params: ExportParams | None = None) -> SplitPreview:
    """Counts per split and label these parameters would give, without writing anything."""
    return service.preview_split_counts(session, dataset_id, params or ExportParams())


@router.get("/datasets/{dataset_id}/exports", dependencies=[Admin], response_model=Page[ExportPublic])
def list_exports(dataset_id: int, session: SessionDep, limit: LimitQuery = 50,
                 offset: OffsetQuery = 0) -> Page[ExportPublic]:
    items, total = service.list_exports(session, dataset_id, limit=limit, offset=offset)
    return Page(items=[service.to_public(e, with_example_ids=False) for e in items], total=total)


@router.get("/exports/{export_id}", dependencies=[Admin], response_model=ExportPublic)
def get_export(export_id: int, session: SessionDep) -> ExportPublic:
    return service.to_public(service.get_export(session, export_id))


@router.get("/exports/{export_id}/files/{name}", dependencies=[Admin], response_class=FileResponse)
def download_file(export_id: int, name: str, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """train.jsonl, validation.jsonl, test.jsonl, manifest.json, README.md or all.zip, as an attachment."""
    path = service.export_file(session, export_id, name, settings)
    return FileResponse(path, media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                        filename=f"export-{export_id}-{name}", content_disposition_type="attachment")
