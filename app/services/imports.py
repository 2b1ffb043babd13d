"""Bulk import: validate the whole source first, then write it in one transaction.

Validation reads the (spooled) source without touching the database, so on SQLite the write
lock is only held while rows are written, and with `on_error=abort` a bad line means nothing
is written at all. Records whose `id` already exists in the dataset update that example.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from more_itertools import chunked as batched

from sqlalchemy import insert, select
from sqlmodel import Session

from app.errors import InvalidInput
from app.importers import FORMATS, ImportSource, LineError, ParsedPair, iter_pairs
from app.models import Dataset, Example, ExampleStatus, utcnow
from app.services.datasets import get_dataset
from app.services.examples import align_label, apply_changes, hashes

MAX_REPORTED_ERRORS = 1000
ProgressCallback = Callable[[int], None]


class OnError(StrEnum):
    abort = "abort"
    skip = "skip"


@dataclass
class ImportOutcome:
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    format: str | None = None
    errors: list[LineError] = field(default_factory=list)
    aborted: bool = False

    def add_error(self, error: LineError) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)


def check_format(format: str) -> str:
    if format != "auto" and format not in FORMATS:
        raise InvalidInput(f"unknown format '{format}'; use auto or one of: {', '.join(FORMATS)}", field="format")
    return format


def _validate(source: ImportSource, outcome: ImportOutcome) -> set[int]:
    """First pass: every bad line, including an `id` repeated within the file. Returns their numbers."""
    bad_lines: set[int] = set()
    first_line_of_id: dict[str, int] = {}
    for item in iter_pairs(source):
        if isinstance(item, LineError):
            outcome.add_error(item)
            bad_lines.add(item.line)
            continue
        if item.external_id is not None:
            first = first_line_of_id.setdefault(item.external_id, item.line)
            if first != item.line:
                outcome.add_error(LineError(item.line, "id", f"duplicate id '{item.external_id}' (first on line {first})"))
                bad_lines.add(item.line)
    outcome.format = source.format if source.format != "auto" else None
    return bad_lines


def _good_pairs(source: ImportSource, bad_lines: set[int]) -> Iterator[ParsedPair]:
    for item in iter_pairs(source):
        if isinstance(item, ParsedPair) and item.line not in bad_lines:
            yield item


def _row(dataset: Dataset, pair: ParsedPair, now) -> dict:
    output, label = align_label(dataset, pair.output, pair.label)
    return {
        "dataset_id": dataset.id, "external_id": pair.external_id, "system": pair.system, "input": pair.input,
        "output": output, "history": pair.history, "label": label, "meta": pair.metadata, "weight": pair.weight,
        "status": ExampleStatus.pending, "version": 1, "created_at": now, "updated_at": now,
        **hashes(pair.system, pair.input, output),
    }


def _update(example: Example, dataset: Dataset, pair: ParsedPair, author: str) -> list:
    output, label = align_label(dataset, pair.output, pair.label)
    changes = {"system": pair.system, "input": pair.input, "output": output, "history": pair.history,
               "label": label, "metadata": pair.metadata, "weight": pair.weight}
    return apply_changes(example, dataset, changes, author)


def run_import(
    session: Session, dataset_id: int, source: ImportSource, *, on_error: OnError = OnError.abort,
    batch_size: int = 2000, author: str = "import", progress: ProgressCallback | None = None,
) -> ImportOutcome:
    check_format(source.format)
    outcome = ImportOutcome()
    bad_lines = _validate(source, outcome)
    if outcome.skipped and on_error is OnError.abort:
        outcome.aborted = True
        return outcome
    dataset = get_dataset(session, dataset_id)
    now = utcnow()
    for batch in batched(_good_pairs(source, bad_lines), batch_size):
        ids = [p.external_id for p in batch if p.external_id is not None]
        existing: dict[str, Example] = {}
        if ids:
            existing = {e.external_id: e for e in session.scalars(
                select(Example).where(Example.dataset_id == dataset.id, Example.external_id.in_(ids)))}
        new_rows = []
        for pair in batch:
            if pair.external_id in existing:
                revisions = _update(existing[pair.external_id], dataset, pair, author)
                session.add_all(revisions)
                outcome.updated += 1
            else:
                new_rows.append(_row(dataset, pair, now))
        if new_rows:
            session.execute(insert(Example), new_rows)
            outcome.imported += len(new_rows)
        session.flush()
        if progress:
            progress(outcome.imported + outcome.updated)
    dataset.updated_at = now
    session.add(dataset)
    session.flush()
    return outcome
