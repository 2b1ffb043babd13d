from fastapi import APIRouter, Response, status

from app.auth import Admin, Reviewer
from app.deps import LimitQuery, OffsetQuery, SessionDep, SettingsDep
from app.schemas.common import Page
from app.schemas.dataset import DatasetCreate, DatasetPublic, DatasetUpdate
from app.services import datasets as service

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post("", dependencies=[Admin], status_code=status.HTTP_201_CREATED, response_model=DatasetPublic)
def create_dataset(data: DatasetCreate, session: SessionDep) -> DatasetPublic:
    return service.to_public(session, service.create_dataset(session, data))


@router.get("", dependencies=[Reviewer], response_model=Page[DatasetPublic])
def list_datasets(session: SessionDep, limit: LimitQuery = 50, offset: OffsetQuery = 0) -> Page[DatasetPublic]:
    items, total = service.list_datasets(session, limit=limit, offset=offset)
    return Page(items=items, total=total)


@router.get("/{dataset_id}", dependencies=[Reviewer], response_model=DatasetPublic)
def get_dataset(dataset_id: int, session: SessionDep) -> DatasetPublic:
    return service.to_public(session, service.get_dataset(session, dataset_id))


@router.patch("/{dataset_id}", dependencies=[Admin], response_model=DatasetPublic)
def update_dataset(dataset_id: int, data: DatasetUpdate, session: SessionDep) -> DatasetPublic:
    return service.to_public(session, service.update_dataset(session, dataset_id, data))


@router.delete("/{dataset_id}", dependencies=[Admin], status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(dataset_id: int, session: SessionDep, settings: SettingsDep) -> Response:
    service.delete_dataset(session, dataset_id, settings)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
