from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from app.errors import Conflict, InvalidInput
from app.models import Dataset, Example, Finding, FindingStatus, Revision, TaskType, utcnow
from app.schemas.example import ExampleCreate, ExampleUpdate
from app.services.datasets import get_dataset
from app.services.example_query import ExampleFilters, ExampleSelection, example_selection, fetch_page
from app.text import pair_hashes, storable_json
from app.services import dataset_stats, paging
from app.services.common import get_or_not_found
from app.services.paging import CountMode, SortKey

# Attribute names on Example for the fields a client edits (`metadata` is stored as `meta`).
EDITABLE_FIELDS = {"system": "system", "input": "input", "output": "output", "history": "history",
                   "label": "label", "metadata": "meta", "weight": "weight", "status": "status",
                   "rejected": "rejected", "kto_label": "kto_label"}


def align_label(dataset: Dataset, output: str, label: str | None) -> tuple[str, str | None]:
    """For classification datasets the label is the output: keep the two the same."""
    if dataset.task_type != TaskType.classification:
        return output, label
    if output.strip():
        return output, output.strip()
    if label:
        return label, label
    return output, None


def hashes(system: str | None, input_text: str, output: str, rejected: str | None = None) -> dict[str, str]:
    input_digest, content_digest = pair_hashes(system, input_text, output, rejected)
    return {"input_hash": input_digest, "content_hash": content_digest}


def get_example(session: Session, example_id: int) -> Example:
    return get_or_not_found(session, Example, example_id, "example")


def check_preference_fields(dataset: Dataset, rejected: str | None, kto_label: bool | None) -> None:
    """A preference example is a pair (a rejected answer) or a KTO example (a label), not both; others have neither."""
    if dataset.task_type != TaskType.preference:
        if rejected is not None or kto_label is not None:
            raise InvalidInput(f"rejected and kto_label are for preference datasets; '{dataset.name}' is a "
                               f"{dataset.task_type} dataset", field="rejected" if rejected is not None else "kto_label")
    elif (rejected is None) == (kto_label is None):
        raise InvalidInput("a preference example needs either a rejected answer (a pair) or a kto_label "
                           "(an unpaired KTO example), not both", field="rejected")


def create_example(session: Session, dataset_id: int, data: ExampleCreate, author: str = "api") -> Example:
    dataset = get_dataset(session, dataset_id)
    check_preference_fields(dataset, data.rejected, data.kto_label)
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
        status=data.status, rejected=values["rejected"], kto_label=data.kto_label,
        **hashes(values["system"], values["input"], output, values["rejected"]),
    )
    session.add(example)
    session.flush()
    dataset_stats.touch(session, dataset_id,
                        dataset_stats.group_delta(None, (str(example.status), example.label, False)))
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
        for key, value in hashes(example.system, example.input, example.output, example.rejected).items():
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
    changed = dataset_stats.changing(session, dataset.id, example.id)
    if "rejected" in changes or "kto_label" in changes:
        check_preference_fields(dataset, changes.get("rejected", example.rejected),
                                changes.get("kto_label", example.kto_label))
    revisions = apply_changes(example, dataset, changes, author)
    session.add_all(revisions)
    try:
        session.flush()
    except StaleDataError as exc:  # a concurrent edit of the same version won the race
        raise Conflict(f"example {example_id} was changed by someone else; reload it") from exc
    if revisions:
        changed()
    return example


def delete_example(session: Session, example_id: int) -> None:
    example = get_example(session, example_id)
    changed = dataset_stats.changing(session, example.dataset_id, example.id)
    session.delete(example)
    session.flush()
    changed()


@dataclass
class ExampleList:
    items: list[Example]
    total: int | None  # None: not counted (count=none)
    total_capped: bool
    next_cursor: str | None


def list_examples(
    session: Session, dataset_id: int, *, status: str | None = None, label: str | None = None,
    check: str | None = None, q: str | None = None, finding_status: str | None = None, limit: int = 50,
    offset: int = 0, cursor: str | None = None, descending: bool = False, count: CountMode = CountMode.capped,
) -> ExampleList:
    """One page in id order (newest first when `descending`), after `cursor` (keyset) or `offset` rows.

    See app/services/paging.py for the cursor and what `total` counts."""
    get_dataset(session, dataset_id)
    filters = ExampleFilters(q=q, status=status, label=label, check=check, finding_status=finding_status)
    position = paging.decode_cursor(cursor, [SortKey(Example.id, descending=descending)]) if cursor else None
    # A page alone (no count needed) may walk the rows upwards from the dataset's first; an offset or the
    # newest-first order start elsewhere, so they keep the counted form.
    page_alone = not paging.needs_count(count, position) and not descending and not offset
    selection = example_selection(session, dataset_id, filters, counting=not page_alone)
    count_query = None
    if check and not (status or label or q):
        # Counted from the findings alone: no example row is read (findings go with their example).
        count_query = select(Finding.example_id).where(
            Finding.dataset_id == dataset_id, Finding.check == check,
            Finding.status == (finding_status or FindingStatus.open)).distinct()
    return _keyset_page(session, dataset_id, selection, narrow=not (status or label), limit=limit, offset=offset,
                        position=position, descending=descending, count=count, count_query=count_query,
                        searching=bool(q))


def _keyset_page(session: Session, dataset_id: int, selection: ExampleSelection, *, narrow: bool, limit: int,
                 offset: int, position: paging.Cursor | None, descending: bool, count: CountMode, count_query=None,
                 searching: bool = False) -> ExampleList:
    """The selection's conditions start with the dataset's own, in the form example_selection chose. A text
    search (`searching`) has its first page and count in one read (paging.fetch_first_counted), unless
    the search counted its matches on the way (`selection.count`)."""
    keys = [SortKey(Example.id, descending=descending)]
    counted = None
    query = select(Example.id).where(*selection.conditions)

    def page_query(conditions: list):
        if narrow and session.get_bind().dialect.name == "sqlite":
            # Without statistics SQLite reads the dataset through ix_examples_dataset_status and sorts every
            # row to find one page; `dataset_id + 0` keeps it on the primary key, already in id order (or
            # on the sorted list of a check's findings, probing the primary key).
            conditions = [(Example.dataset_id + 0) == dataset_id, *conditions[1:]]
        selected = select(Example.id).where(*conditions)
        return selected.offset(offset) if offset and position is None else selected

    if searching and position is None and not offset and count is CountMode.capped and count_query is None:
        page, counted = paging.fetch_first_counted(session, page_query(selection.conditions), keys, limit=limit,
                                                   known=selection.count)
    else:
        page = fetch_page(session, dataset_id, selection, page_query, keys,
                          cursor_values=position.values if position else None, limit=limit)
    ids = [row.id for row in page.rows]
    if counted is None:
        counted = paging.page_count(session, query if count_query is None else count_query, count, cursor=position,
                                    shown=len(ids), first_page_is_all=position is None and not offset and not page.more)
    # Sort narrow rows (ids), then load the page's examples: the long texts are read for the page only.
    by_id = {e.id: e for e in session.scalars(select(Example).where(Example.id.in_(ids)))} if ids else {}
    items = [by_id[i] for i in ids if i in by_id]
    next_cursor = paging.encode_cursor([ids[-1]], counted) if page.more else None
    return ExampleList(items, counted.total if counted else None, bool(counted and counted.capped), next_cursor)


def list_revisions(session: Session, example_id: int) -> list[Revision]:
    get_example(session, example_id)
    return list(session.scalars(select(Revision).where(Revision.example_id == example_id).order_by(Revision.id)))

