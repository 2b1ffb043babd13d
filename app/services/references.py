"""Reference sets and other datasets: what the analysis compares a training dataset against.

- A reference dataset (`role = "reference"`: an eval set, a test set, a benchmark) is named in a training
  dataset's `settings.contamination.reference_datasets`; the analysis loads its items and their input
  vectors (embedded with the analysis's own embedder, stored like any dataset's) for the contamination check.
- Cross-dataset duplicates: inputs of this dataset that another dataset already holds, counted in the
  import answer and turned into exact_duplicate findings when `settings.exact_duplicate.across_datasets` is on.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import false, func, literal, select, union_all
from sqlmodel import Session

from app.checks.base import ReferenceSet
from app.embeddings.base import Embedder
from app.errors import InvalidInput
from app.models import Dataset, DatasetRole, Example
from app.services import embeddings_store

FIELD = "settings.contamination.reference_datasets"


def reference_ids(settings: dict[str, Any] | None) -> list[int]:
    section = (settings or {}).get("contamination") or {}
    ids = section.get("reference_datasets") or [] if isinstance(section, dict) else []
    return [int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)]


def validate_references(session: Session, dataset_id: int | None, settings: dict[str, Any] | None) -> None:
    """Each named reference exists, is a reference dataset and is not the dataset itself: a 422 naming the
    field now rather than a failed analysis later."""
    wanted = reference_ids(settings)
    if not wanted:
        return
    if dataset_id is not None and dataset_id in wanted:
        raise InvalidInput("a dataset cannot be its own reference set", field=FIELD)
    roles = dict(session.execute(select(Dataset.id, Dataset.role).where(Dataset.id.in_(wanted))).all())
    missing = [i for i in wanted if i not in roles]
    if missing:
        raise InvalidInput(f"no dataset with id {', '.join(map(str, missing))}", field=FIELD)
    training = [i for i in wanted if roles[i] != DatasetRole.reference]
    if training:
        raise InvalidInput(f"dataset {', '.join(map(str, training))} is not a reference set; mark it with "
                           "\"role\": \"reference\" first", field=FIELD)


def load_references(session: Session, settings: dict[str, Any], embedder: Embedder | None,
                    checkpoint: Callable[[], None] | None = None) -> list[ReferenceSet]:
    """The reference sets the contamination check compares against, their input vectors embedded (and
    stored) with `embedder` first when one is given. A reference deleted since the settings were saved is
    skipped."""
    references = []
    for dataset_id in reference_ids(settings):
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            continue
        if embedder is not None:
            embeddings_store.embed_missing(session, dataset_id, embedder, checkpoint=checkpoint)
        rows = session.execute(select(Example.id, Example.input, Example.output)
                               .where(Example.dataset_id == dataset_id).order_by(Example.id)).all()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = None
        if embedder is not None and len(ids):
            vector_ids, stored = embeddings_store.load_vectors(session, dataset_id, embedder.name)
            at = embeddings_store.row_positions(vector_ids, ids)
            if (at >= 0).all():
                vectors = stored[at]
        references.append(ReferenceSet(dataset_id=dataset_id, name=dataset.name, ids=ids,
                                       inputs=[row[1] for row in rows], outputs=[row[2] for row in rows],
                                       vectors=vectors))
    return references


def _other_copies(session: Session, dataset_id: int, since_id: int = 0):
    """(example id, other dataset id, lowest id of the same input there) for this dataset's examples after
    `since_id`, through the (dataset_id, input_hash) index of each other dataset: one equality join per
    other dataset (a join on `dataset_id != ...` cannot use that index, and SQLite then read every other
    dataset's rows for each of this one's: minutes at 100,000 pairs)."""
    mine, other = Example.__table__.alias("mine"), Example.__table__.alias("other")
    others = session.scalars(select(Dataset.id).where(Dataset.id != dataset_id).order_by(Dataset.id)).all()
    parts = [select(mine.c.id, literal(other_id).label("other_dataset"), func.min(other.c.id))
             .join(other, (other.c.dataset_id == other_id) & (other.c.input_hash == mine.c.input_hash))
             .where(mine.c.dataset_id == dataset_id, mine.c.id > since_id)
             .group_by(mine.c.id) for other_id in others]
    if not parts:
        return select(mine.c.id, literal(0), literal(0)).where(false())
    return union_all(*parts) if len(parts) > 1 else parts[0]


def across_datasets(session: Session, dataset_id: int) -> dict[int, tuple[int, str, int]]:
    """example id -> (other dataset id, its name, its example) of the first other dataset holding the same
    normalised input."""
    names = dict(session.execute(select(Dataset.id, Dataset.name)).all())
    found: dict[int, tuple[int, str, int]] = {}
    for example_id, other_dataset, other_id in session.execute(_other_copies(session, dataset_id)).all():
        if example_id not in found or other_dataset < found[example_id][0]:
            found[example_id] = (other_dataset, names.get(other_dataset, str(other_dataset)), other_id)
    return found


def count_across_datasets(session: Session, dataset_id: int, since_id: int = 0) -> dict[str, Any]:
    """How many examples of this dataset after `since_id` repeat an input another dataset holds, in all and
    per other dataset (by name): the import answer's `already_in_other_datasets`."""
    names = dict(session.execute(select(Dataset.id, Dataset.name)).all())
    per_dataset: dict[str, int] = {}
    examples: set[int] = set()
    for example_id, other_dataset, _ in session.execute(_other_copies(session, dataset_id, since_id)).all():
        examples.add(example_id)
        name = names.get(other_dataset, str(other_dataset))
        per_dataset[name] = per_dataset.get(name, 0) + 1
    return {"total": len(examples), "by_dataset": dict(sorted(per_dataset.items()))}


def contamination_rates(session: Session, dataset_id: int, settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Per reference set named in the settings: open contamination findings and their share of the dataset."""
    from app.models import Finding, FindingStatus

    total = session.scalar(select(func.count()).select_from(Example).where(Example.dataset_id == dataset_id)) or 0
    rows = []
    for ref_id in reference_ids(settings):
        dataset = session.get(Dataset, ref_id)
        if dataset is None:
            continue
        json_ref = Finding.details["reference_dataset_id"].as_integer()
        flagged = session.scalar(select(func.count(func.distinct(Finding.example_id))).where(
            Finding.dataset_id == dataset_id, Finding.check == "contamination",
            Finding.status == FindingStatus.open, json_ref == ref_id)) or 0
        rows.append({"reference_dataset_id": ref_id, "reference_dataset": dataset.name, "contaminated": flagged,
                     "rate": round(flagged / total, 5) if total else 0.0})
    return rows
