import shutil
from pathlib import Path

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.checks.registry import effective_settings
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models import Dataset, DatasetRole, Example, Export, utcnow
from app.output_schema import check_output_schema
from app.schemas.dataset import DatasetCreate, DatasetPublic, DatasetUpdate
from app.services import references
from app.services.common import get_or_not_found


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    return get_or_not_found(session, Dataset, dataset_id, "dataset")


def get_dataset_by_name(session: Session, name: str) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.name == name)).first()
    if dataset is None:
        raise NotFound(f"dataset '{name}' not found")
    return dataset


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(Dataset.id).where(Dataset.name == name)
    if except_id is not None:
        query = query.where(Dataset.id != except_id)
    return session.scalars(query).first() is not None


def create_dataset(session: Session, data: DatasetCreate) -> Dataset:
    check_output_schema(data.output_schema)
    effective_settings(data.settings)  # each check's typed settings: a bad value is a 422 naming it
    references.validate_references(session, None, data.settings)
    if _name_taken(session, data.name):
        raise Conflict(f"a dataset named '{data.name}' already exists", field="name")
    dataset = Dataset(**data.model_dump())
    session.add(dataset)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise Conflict(f"a dataset named '{data.name}' already exists", field="name") from exc
    return dataset


def update_dataset(session: Session, dataset_id: int, data: DatasetUpdate) -> Dataset:
    dataset = get_dataset(session, dataset_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None and _name_taken(session, changes["name"], except_id=dataset_id):
        raise Conflict(f"a dataset named '{changes['name']}' already exists", field="name")
    if "output_schema" in changes:
        check_output_schema(changes["output_schema"])
    if "settings" in changes and changes["settings"] is not None:
        changes["settings"] = {**dataset.settings, **changes["settings"]}
        effective_settings(changes["settings"])
        references.validate_references(session, dataset_id, changes["settings"])
    if changes.get("role") == DatasetRole.training and _referenced_by(session, dataset_id):
        raise Conflict(f"dataset {dataset_id} is a reference set of dataset(s) "
                       f"{', '.join(map(str, _referenced_by(session, dataset_id)))}; remove it from their "
                       "settings.contamination.reference_datasets first", field="role")
    for key, value in changes.items():
        if key in ("name", "task_type", "role", "settings", "description") and value is None:
            continue
        setattr(dataset, key, value)
    dataset.updated_at = utcnow()
    session.add(dataset)
    session.flush()
    return dataset


def reference_sets(session: Session) -> list[DatasetPublic]:
    """Every reference dataset, with its size, by name. Only they are counted: the dataset page asks on every
    view, and counting every dataset's examples would scan the training data too."""
    found = session.scalars(select(Dataset).where(Dataset.role == DatasetRole.reference).order_by(Dataset.name))
    return [to_public(session, dataset) for dataset in found]


def set_references(session: Session, dataset_id: int, reference_ids: list[int]) -> Dataset:
    """Check the dataset against exactly these reference sets (the other contamination settings are kept)."""
    dataset = get_dataset(session, dataset_id)
    section = dict((dataset.settings or {}).get("contamination") or {})
    section["reference_datasets"] = sorted(set(reference_ids))
    return update_dataset(session, dataset_id, DatasetUpdate(settings={"contamination": section}))


def add_references(session: Session, dataset_id: int, names: list[str]) -> Dataset:
    """Check the dataset against these reference sets too (by name), keeping the ones it already names."""
    dataset = get_dataset(session, dataset_id)
    wanted = [get_dataset_by_name(session, name).id for name in names]
    section = dict((dataset.settings or {}).get("contamination") or {})
    section["reference_datasets"] = sorted(set(references.reference_ids(dataset.settings)) | set(wanted))
    return update_dataset(session, dataset_id, DatasetUpdate(settings={"contamination": section}))


def _referenced_by(session: Session, dataset_id: int) -> list[int]:
    return [other_id for other_id, settings in session.execute(select(Dataset.id, Dataset.settings)).all()
            if dataset_id in references.reference_ids(settings)]


def delete_dataset(session: Session, dataset_id: int, settings: Settings) -> None:
    """Delete the dataset (its rows cascade), and once that is committed its files: the export folders
    and the analysis cache. Removing them only after the commit keeps them if the deletion rolls back."""
    dataset = get_dataset(session, dataset_id)
    folders = _dataset_folders(session, dataset_id, settings.data_dir)
    session.delete(dataset)
    session.flush()
    event.listen(session, "after_commit", lambda _session: _remove_folders(folders), once=True)


def _dataset_folders(session: Session, dataset_id: int, data_dir: Path) -> list[Path]:
    exports_dir = (data_dir / "exports").resolve()
    folders = [data_dir / "analysis" / f"dataset-{dataset_id}"]
    for export_id, path in session.execute(select(Export.id, Export.path).where(Export.dataset_id == dataset_id)):
        folder = (data_dir / (path or f"exports/{export_id}")).resolve()
        if folder.parent == exports_dir:  # never anything outside <data_dir>/exports, whatever the row says
            folders.append(folder)
    return folders


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def count_examples(session: Session, dataset_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Example).where(Example.dataset_id == dataset_id)) or 0


def to_public(session: Session, dataset: Dataset) -> DatasetPublic:
    return DatasetPublic.model_validate(dataset).model_copy(update={"example_count": count_examples(session, dataset.id)})


def list_datasets(session: Session, *, limit: int, offset: int) -> tuple[list[DatasetPublic], int]:
    total = session.scalar(select(func.count()).select_from(Dataset)) or 0
    counts = (
        select(Example.dataset_id, func.count().label("n")).group_by(Example.dataset_id).subquery()
    )
    rows = session.execute(
        select(Dataset, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.dataset_id == Dataset.id)
        .order_by(Dataset.id)
        .limit(limit)
        .offset(offset)
    ).all()
    items = [DatasetPublic.model_validate(d).model_copy(update={"example_count": n}) for d, n in rows]
    return items, total
