from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from app.errors import Conflict, InvalidInput
from app.models import Dataset, Example, Finding, Revision, TaskType, utcnow
from app.schemas.example import ExampleCreate, ExampleUpdate
from app.services.datasets import get_dataset
from app.text import pair_hashes, storable_json
from app.services.common import get_or_not_found, paged

# Attribute names on Example for the fields a client edits (`metadata` is stored as `meta`).
EDITABLE_FIELDS = {"system": "system", "input": "input", "output": "output", "history": "history",
                   "label": "label", "metadata": "meta", "weight": "weight", "status": "status"}


def align_label(dataset: Dataset, output: str, label: str | None) -> tuple[str, str | None]:
    """For classification datasets the label is the output: keep the two the same."""
    if dataset.task_type != TaskType.classification:
        return output, label
    if output.strip():
        return output, output.strip()
    if label:
        return label, label
    return output, None


def hashes(system: str | None, input_text: str, output: str) -> dict[str, str]:
    input_digest, content_digest = pair_hashes(system, input_text, output)
    return {"input_hash": input_digest, "content_hash": content_digest}


def get_example(session: Session, example_id: int) -> Example:
    return get_or_not_found(session, Example, example_id, "example")


def create_example(session: Session, dataset_id: int, data: ExampleCreate, author: str = "api") -> Example:
    dataset = get_dataset(session, dataset_id)
    if data.external_id is not None and session.scalars(
        select(Example.id).where(Example.dataset_id == dataset_id, Example.external_id == data.external_id)
    ).first():
        raise Conflict(f"an example with external_id '{data.external_id}' already exists", field="external_id")
    values = storable_json(data.model_dump(exclude={"metadata", "history"}))
    output, label = align_label(dataset, values["output"], values["label"])
    history = storable_json([m.model_dump() for m in data.history]) if data.history else None
    example = Example(
        dataset_id=dataset_id, external_id=values["external_id"], system=values["system"], input=values["input"],
        output=output, label=label, history=history, meta=storable_json(data.metadata), weight=data.weight,
        status=data.status, **hashes(values["system"], values["input"], output),
    )
    session.add(example)
    session.flush()
    return example


def apply_changes(example: Example, dataset: Dataset, changes: dict[str, Any], author: str) -> list[Revision]:
    """Set the changed fields, bump the version, and return one Revision per changed field."""
    if dataset.task_type == TaskType.classification:
        if "output" in changes and "label" not in changes:
            changes["label"] = changes["output"].strip() or None
        elif "label" in changes and "output" not in changes and changes["label"] is not None:
            changes["output"] = changes["label"]
    revisions = []
    new_version = example.version + 1  # what the version_id_col bump will make it on flush
    for field, value in changes.items():
        attribute = EDITABLE_FIELDS[field]
        old = getattr(example, attribute)
        if old == value:
            continue
        setattr(example, attribute, value)
        revisions.append(Revision(example_id=example.id, version=new_version, field=field, old=old, new=value,
                                  author=author))
    if revisions:
        example.updated_at = utcnow()
        for key, value in hashes(example.system, example.input, example.output).items():
            setattr(example, key, value)
    return revisions


def update_example(session: Session, example_id: int, data: ExampleUpdate, author: str = "api") -> Example:
    example = get_example(session, example_id)
    if data.version != example.version:
        raise Conflict(
            f"example {example_id} was changed by someone else (you edited version {data.version}, "
            f"it is now at version {example.version}); reload it and apply your change again",
            current_version=example.version,
        )
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "input" in changes and changes["input"] is None:
        raise InvalidInput("input must not be null", field="input")
    if "output" in changes and changes["output"] is None:
        raise InvalidInput("output must not be null", field="output")
    if "status" in changes and changes["status"] is None:
        raise InvalidInput("status must not be null", field="status")
    changes = {k: storable_json(v) for k, v in changes.items()}
    dataset = get_dataset(session, example.dataset_id)
    session.add_all(apply_changes(example, dataset, changes, author))
    try:
        session.flush()
    except StaleDataError as exc:  # a concurrent edit of the same version won the race
        raise Conflict(f"example {example_id} was changed by someone else; reload it") from exc
    return example


def delete_example(session: Session, example_id: int) -> None:
    session.delete(get_example(session, example_id))
    session.flush()


def list_examples(
    session: Session, dataset_id: int, *, status: str | None = None, label: str | None = None,
    check: str | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[Example], int]:
    get_dataset(session, dataset_id)
    query = select(Example).where(Example.dataset_id == dataset_id)
    if status:
        query = query.where(Example.status == status)
    if label:
        query = query.where(Example.label == label)
    if check:
        query = query.where(
            Example.id.in_(select(Finding.example_id).where(Finding.dataset_id == dataset_id, Finding.check == check,
                                                            Finding.status == "open"))
        )
    if q:
        pattern = f"%{q}%"
        query = query.where(or_(Example.input.ilike(pattern), Example.output.ilike(pattern)))
    items, total = paged(session, query, Example.id, limit=limit, offset=offset)
    return items, total


def list_revisions(session: Session, example_id: int) -> list[Revision]:
    get_example(session, example_id)
    return list(session.scalars(select(Revision).where(Revision.example_id == example_id).order_by(Revision.id)))

