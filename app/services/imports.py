"""Bulk import: validate the whole source first, then write it in one transaction.

Validation reads the (spooled) source without touching the database, so on SQLite the write
lock is only held while rows are written, and with `on_error=abort` a bad line means nothing
is written at all. Records whose `id` already exists in the dataset update that example.

The validation pass also does all the per-row work it can (parse, hash, encode JSON for the
database's driver) and spools the result, so the write pass, which holds the lock, only looks
up existing ids and runs one driver `executemany` per batch.
"""

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import IO, Any

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from app.errors import InvalidInput
from app.importers import FORMATS, ImportSource, LineError, iter_pairs
from app.models import Dataset, Example, ExampleStatus, TaskType, utcnow
from app.services.datasets import get_dataset
from app.services.examples import align_label, apply_changes
from app.text import pair_hashes

MAX_REPORTED_ERRORS = 1000
PENDING = ExampleStatus.pending.value
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


# Columns of one inserted row, in the order the spooled tuples carry them.
# They follow the table's column order, which is the order of the compiled INSERT's parameters, so
# the tuples go to the driver as they are (re-ordering 50,000 tuples cost ~8% of an import).
INSERT_COLUMNS = ("dataset_id", "external_id", "system", "input", "output", "history", "label", "metadata", "weight",
                  "status", "input_hash", "content_hash", "version", "created_at", "updated_at")


class RowEncoder:
    """Values converted for the driver by SQLAlchemy's own bind processors (JSON, timestamps) of
    this dialect, and the INSERT in the driver's parameter style: the per-row bookkeeping of
    `session.execute(insert(...), rows)` cost more than the database's own work."""

    def __init__(self, dialect) -> None:
        table = Example.__table__
        compiled = insert(table).values({name: bindparam(name) for name in INSERT_COLUMNS}).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        order = [INSERT_COLUMNS.index(name) for name in compiled.positiontup] if self.positional else None
        self.order = None if order == list(range(len(INSERT_COLUMNS))) else order
        self._processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                            for name in ("history", "metadata", "created_at")}
        # Most rows have no history or metadata: encode None once.
        self._nulls = {name: self._encode(name, None) for name in ("history", "metadata")}

    def _encode(self, column: str, value: Any) -> Any:
        processor = self._processors[column]
        return processor(value) if processor else value

    def json(self, column: str, value: Any) -> Any:
        return self._nulls[column] if value is None else self._encode(column, value)

    def timestamp(self, value: datetime) -> Any:
        return self._encode("created_at", value)

    def params(self, rows: list[tuple]) -> list:
        if self.positional:
            if self.order is None:
                return rows
            order = self.order
            return [tuple(row[i] for i in order) for row in rows]
        return [dict(zip(INSERT_COLUMNS, row)) for row in rows]


def _validate(source: ImportSource, outcome: ImportOutcome, spool: IO[bytes], on_error: OnError,
              batch_size: int, encoder: RowEncoder) -> None:
    """First pass: every bad line (an `id` repeated within the file included) goes to `outcome`; the good
    pairs go to `spool`, parsed, hashed and encoded, in pickled batches of plain tuples."""
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
        batch.append((item.line, item.external_id, item.system, item.input, item.output, item.history, item.label,
                      item.metadata, item.weight, *pair_hashes(item.system, item.input, item.output),
                      encoder.json("history", item.history), encoder.json("metadata", item.metadata)))
        if len(batch) >= batch_size:
            pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
    outcome.format = source.format if source.format != "auto" else None


def _spooled_batches(spool: IO[bytes]) -> Iterator[list[tuple]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def _insert_row(dataset: Dataset, dataset_id: int, classification: bool, fields: tuple, timestamp: Any) -> tuple:
    """A spooled tuple as the INSERT_COLUMNS of a new example."""
    _, external_id, system, input_text, output, _, label, _, weight, in_hash, pair_hash, history, metadata = fields
    if classification:
        aligned_output, label = align_label(dataset, output, label)
        if aligned_output != output:  # the label stood in for an empty output: hash what is stored
            output = aligned_output
            in_hash, pair_hash = pair_hashes(system, input_text, output)
    return (dataset_id, external_id, system, input_text, output, history, label, metadata, weight,
            PENDING, in_hash, pair_hash, 1, timestamp, timestamp)


def _update(example: Example, dataset: Dataset, fields: tuple, author: str) -> list:
    _, _, system, input_text, output, history, label, metadata, weight = fields[:9]
    output, label = align_label(dataset, output, label)
    changes = {"system": system, "input": input_text, "output": output, "history": history,
               "label": label, "metadata": metadata, "weight": weight}
    return apply_changes(example, dataset, changes, author)


def run_import(
    session: Session, dataset_id: int, source: ImportSource, *, on_error: OnError = OnError.abort,
    batch_size: int = 2000, author: str = "import", progress: ProgressCallback | None = None,
) -> ImportOutcome:
    """Validate all of `source`, then (unless aborted) write it. The first database statement comes
    after the validation pass: on SQLite the write lock is held only while rows are written."""
    check_format(source.format)
    outcome = ImportOutcome()
    encoder = RowEncoder(session.get_bind().dialect)  # no query: the dialect is known from the engine
    with tempfile.TemporaryFile(prefix="winnow-import-") as spool:
        _validate(source, outcome, spool, on_error, batch_size, encoder)
        if outcome.skipped and on_error is OnError.abort:
            outcome.aborted = True
            return outcome
        dataset = get_dataset(session, dataset_id)
        now = utcnow()
        timestamp = encoder.timestamp(now)
        classification = dataset.task_type == TaskType.classification
        # Ids are unique within the file, so a dataset without ids yet cannot have a match: skip the lookups.
        may_update = session.scalars(select(Example.id).where(
            Example.dataset_id == dataset.id, Example.external_id.is_not(None)).limit(1)).first() is not None
        for batch in _spooled_batches(spool):
            ids = [fields[1] for fields in batch if fields[1] is not None] if may_update else []
            existing: dict[str, Example] = {}
            if ids:
                existing = {e.external_id: e for e in session.scalars(
                    select(Example).where(Example.dataset_id == dataset.id, Example.external_id.in_(ids)))}
            new_rows = []
            for fields in batch:
                if existing and fields[1] in existing:
                    session.add_all(_update(existing[fields[1]], dataset, fields, author))
                    outcome.updated += 1
                else:
                    new_rows.append(_insert_row(dataset, dataset.id, classification, fields, timestamp))
            if existing:
                session.flush()
            if new_rows:
                session.connection().exec_driver_sql(encoder.sql, encoder.params(new_rows))
                outcome.imported += len(new_rows)
            if progress:
                progress(outcome.imported + outcome.updated)
    dataset.updated_at = now
    session.add(dataset)
    session.flush()
    return outcome
