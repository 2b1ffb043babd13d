"""Bulk import: validate the whole source first, then write it in one transaction.

Validation reads the (spooled) source without touching the database, so on SQLite the write
lock is only held while rows are written, and with `on_error=abort` a bad line means nothing
is written at all. Records whose `id` already exists in the dataset update that example.
"""

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO

from sqlalchemy import insert, select
from sqlmodel import Session

from app.errors import InvalidInput
from app.importers import FORMATS, ImportSource, LineError, ParsedPair, iter_pairs
from app.models import Dataset, Example, ExampleStatus, utcnow
from app.services.datasets import get_dataset
from app.services.examples import align_label, apply_changes
from app.text import pair_hashes

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


def _validate(source: ImportSource, outcome: ImportOutcome, spool: IO[bytes], on_error: OnError,
              batch_size: int) -> None:
    """First pass: every bad line (an `id` repeated within the file included) goes to `outcome`; the good
    pairs go to `spool`, parsed and hashed, in pickled batches, so the write pass does not parse again."""
    first_line_of_id: dict[str, int] = {}
    batch: list[tuple] = []
    for item in iter_pairs(source):
        if isinstance(item, LineError):
            outcome.add_error(item)
            continue
        if item.external_id is not None:
            first = first_line_of_id.setdefault(item.external_id, item.line)
            if first != item.line:
                outcome.add_error(LineError(item.line, "id", f"duplicate id '{item.external_id}' (first on line {first})"))
                continue
        if outcome.skipped and on_error is OnError.abort:
            continue  # nothing will be written: only look for more errors
        batch.append((item, pair_hashes(item.system, item.input, item.output)))
        if len(batch) >= batch_size:
            pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
    outcome.format = source.format if source.format != "auto" else None


def _spooled_batches(spool: IO[bytes]) -> Iterator[list[tuple[ParsedPair, tuple[str, str]]]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def _row(dataset: Dataset, pair: ParsedPair, pair_hash: tuple[str, str], now) -> dict:
    output, label = align_label(dataset, pair.output, pair.label)
    if output != pair.output:  # the label stood in for an empty output: hash what is stored
        pair_hash = pair_hashes(pair.system, pair.input, output)
    return {
        "dataset_id": dataset.id, "external_id": pair.external_id, "system": pair.system, "input": pair.input,
        "output": output, "history": pair.history, "label": label, "metadata": pair.metadata, "weight": pair.weight,
        "status": ExampleStatus.pending.value, "version": 1, "created_at": now, "updated_at": now,
        "input_hash": pair_hash[0], "content_hash": pair_hash[1],
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
    """Validate all of `source`, then (unless aborted) write it. The first database statement comes
    after the validation pass: on SQLite the write lock is held only while rows are written."""
    check_format(source.format)
    outcome = ImportOutcome()
    with tempfile.TemporaryFile(prefix="winnow-import-") as spool:
        _validate(source, outcome, spool, on_error, batch_size)
        if outcome.skipped and on_error is OnError.abort:
            outcome.aborted = True
            return outcome
        dataset = get_dataset(session, dataset_id)
        now = utcnow()
        table = Example.__table__
        for batch in _spooled_batches(spool):
            ids = [pair.external_id for pair, _ in batch if pair.external_id is not None]
            existing: dict[str, Example] = {}
            if ids:
                existing = {e.external_id: e for e in session.scalars(
                    select(Example).where(Example.dataset_id == dataset.id, Example.external_id.in_(ids)))}
            new_rows = []
            for pair, pair_hash in batch:
                if pair.external_id in existing:
                    session.add_all(_update(existing[pair.external_id], dataset, pair, author))
                    outcome.updated += 1
                else:
                    new_rows.append(_row(dataset, pair, pair_hash, now))
            if existing:
                session.flush()
            if new_rows:
                # Core executemany: no ORM bookkeeping per row (the rows are not needed as objects).
                session.execute(insert(table), new_rows)
                outcome.imported += len(new_rows)
            if progress:
                progress(outcome.imported + outcome.updated)
    dataset.updated_at = now
    session.add(dataset)
    session.flush()
    return outcome
