"""Bulk import: validate the whole source first, then write it in one transaction.

Validation (app/services/import_validation.py) reads the source without touching the database and
does all the per-row work it can (parse, hash, encode JSON for the database's driver), spooling
the result, so the write pass only looks up existing ids and runs one driver `executemany` per
batch. With `on_error=abort` a bad line means nothing is kept. Records whose `id` already exists
in the dataset update that example.
"""

import logging
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlmodel import Session

from app.db import refresh_planner_statistics
from app.errors import InvalidInput
from app.importers import FORMATS, ImportSource, LineError
from app.importers.reader import ImportStopped
from app.models import Dataset, Example, ExampleStatus, TaskType, utcnow
from app.services import references
from app.progress import Progress
from app.services import dataset_stats
from app.services.datasets import get_dataset
from app.services.examples import align_label, apply_changes
from app.services.import_validation import (
    SPOOLED_FIELDS,
    Parallelism,
    PieceMerger,
    RowEncoder,
    dialect_url,
    encoder_for,
    spooled_batches,
    validate_source,
)
from app.text import pair_hashes

log = logging.getLogger("winnow.import")
# SQLite's page cache while an import writes (default: 2 MiB). At a million rows the indexes (external
# id, input hash, status, label) outgrow a small cache: each random insert then evicts a dirty page,
# written to the WAL again and again. Given back when the import's transaction ends.
SQLITE_IMPORT_CACHE_KIB = 256 * 1024
PENDING = ExampleStatus.pending.value


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
    # New pairs whose input another dataset already holds: {"total": n, "by_dataset": {name: n}}.
    already_in_other_datasets: dict | None = None


def check_format(format: str) -> str:
    if format != "auto" and format not in FORMATS:
        raise InvalidInput(f"unknown format '{format}'; use auto or one of: {', '.join(FORMATS)}", field="format")
    return format


def check_rated_margin(margin: float | None) -> dict:
    """The import options of a `rated` file: every pair above this score margin (None: best vs worst)."""
    if margin is None:
        return {}
    if not (0 < margin < float("inf")):
        raise InvalidInput("rated_margin must be a number > 0", field="rated_margin")
    return {"rated_margin": float(margin)}


def check_task_type(dataset: Dataset, format: str) -> None:
    """A preference format only into a preference dataset, and an SFT format never into one."""
    if dataset.task_type not in FORMATS[format].task_types:
        kind = "preference pairs" if TaskType.preference in FORMATS[format].task_types else "single-answer pairs"
        raise InvalidInput(f"the file holds {kind} (format {format}), but dataset '{dataset.name}' is a "
                           f"{dataset.task_type} dataset", field="format")


# Position of each field in a spooled tuple.
SPOOLED = {name: position for position, name in enumerate(SPOOLED_FIELDS)}


def _new_rows(batch: list[tuple], dataset: Dataset, classification: bool, timestamp: Any) -> list[tuple]:
    """Spooled tuples (SPOOLED_FIELDS) as the INSERT_COLUMNS of new examples. The hot path: one
    comprehension picking by position (local names, as fast as literal indexes), no call per row."""
    dataset_id = dataset.id
    external_id, system, input_, output, history, label, metadata, weight, input_hash, content_hash, rejected, \
        kto_label = (SPOOLED[name] for name in ("external_id", "system", "input", "output", "history_for_driver",
                                                "label", "metadata_for_driver", "weight", "input_hash", "content_hash",
                                                "rejected", "kto_label"))
    if not classification:
        return [(dataset_id, f[external_id], f[system], f[input_], f[output], f[history], f[label], f[metadata],
                 f[weight], PENDING, f[input_hash], f[content_hash], 1, timestamp, timestamp, f[rejected],
                 f[kto_label]) for f in batch]
    # For classification the label is the output; a blank output takes the label (align_label).
    return [(dataset_id, f[external_id], f[system], f[input_], f[output], f[history], f[output].strip(), f[metadata],
             f[weight], PENDING, f[input_hash], f[content_hash], 1, timestamp, timestamp, f[rejected], f[kto_label])
            if f[output].strip() else _blank_output_row(f, dataset, timestamp) for f in batch]


def _blank_output_row(fields: tuple, dataset: Dataset, timestamp: Any) -> tuple:
    field = dict(zip(SPOOLED_FIELDS, fields, strict=True))
    external_id, system, input_text, output, label, weight, in_hash, pair_hash, history, metadata = (
        field[name] for name in ("external_id", "system", "input", "output", "label", "weight", "input_hash",
                                 "content_hash", "history_for_driver", "metadata_for_driver"))
    rejected, kto_label = field["rejected"], field["kto_label"]
    aligned_output, label = align_label(dataset, output, label)
    if aligned_output != output:  # the label stood in for the empty output: hash what is stored
        output = aligned_output
        in_hash, pair_hash = pair_hashes(system, input_text, output)
    return (dataset.id, external_id, system, input_text, output, history, label, metadata, weight,
            PENDING, in_hash, pair_hash, 1, timestamp, timestamp, rejected, kto_label)


def _update(example: Example, dataset: Dataset, fields: tuple, author: str) -> list:
    field = dict(zip(SPOOLED_FIELDS, fields, strict=True))
    system, input_text, output, history, label, metadata, weight = (
        field[name] for name in ("system", "input", "output", "history", "label", "metadata", "weight"))
    output, label = align_label(dataset, output, label)
    changes = {"system": system, "input": input_text, "output": output, "history": history,
               "label": label, "metadata": metadata, "weight": weight}
    if dataset.task_type == TaskType.preference:
        changes.update(rejected=field["rejected"], kto_label=field["kto_label"])
    return apply_changes(example, dataset, changes, author)


class _Writer:
    """The write pass: new rows in one driver `executemany` per batch, rows whose `id` the dataset
    already has as updates with revisions. Created at the first write, so a file refused whole
    costs no query. An import that aborts after it wrote rolls the session's transaction back:
    callers begin the import with no other change pending (the routes end their read transaction
    first, the CLI rolls back an aborted import anyway)."""

    def __init__(self, session: Session, dataset_id: int, encoder: RowEncoder, author: str,
                 format: str | None = None) -> None:
        self.session, self.encoder, self.author = session, encoder, author
        self.dataset = get_dataset(session, dataset_id)
        _widen_sqlite_cache(session)
        if format is not None and format != "auto":
            check_task_type(self.dataset, format)
        self.classification = self.dataset.task_type == TaskType.classification
        self.now = utcnow()
        self.timestamp = encoder.timestamp(self.now)
        # Ids are unique within the file, so a dataset without ids yet cannot have a match: skip the lookups.
        self.may_update = session.scalars(select(Example.id).where(
            Example.dataset_id == dataset_id, Example.external_id.is_not(None)).limit(1)).first() is not None
        self.imported = self.updated = 0

    def write(self, batch: list[tuple]) -> None:
        session, dataset = self.session, self.dataset
        at = SPOOLED["external_id"]
        ids = [fields[at] for fields in batch if fields[at] is not None] if self.may_update else []
        existing: dict[str, Example] = {}
        if ids:
            existing = {e.external_id: e for e in session.scalars(
                select(Example).where(Example.dataset_id == dataset.id, Example.external_id.in_(ids)))}
        if existing:
            for fields in batch:
                if fields[at] in existing:
                    session.add_all(_update(existing[fields[at]], dataset, fields, self.author))
                    self.updated += 1
            session.flush()
            batch = [fields for fields in batch if fields[at] not in existing]
        new_rows = _new_rows(batch, dataset, self.classification, self.timestamp)
        if new_rows:
            session.connection().exec_driver_sql(self.encoder.sql, self.encoder.params(new_rows))
            self.imported += len(new_rows)

    def finish(self) -> None:
        self.dataset.updated_at = self.now
        self.session.add(self.dataset)
        self.session.flush()
        if self.imported or self.updated:
            dataset_stats.touch(self.session, self.dataset.id)
            refresh_planner_statistics(self.session, "examples", self.imported + self.updated)

    def discard(self) -> None:
        # The whole transaction, not a savepoint: on SQLite 3.40 (Debian 12), ROLLBACK TO a savepoint
        # whose pages had spilled into the WAL, then a later commit, loses that commit when the WAL is
        # recovered after an unclean exit (tests/services/test_import_pieces.py reproduces it).
        self.session.rollback()
        self.imported = self.updated = 0


def _last_example_id(session: Session) -> int:
    return session.scalar(select(func.max(Example.id))) or 0


def _widen_sqlite_cache(session: Session) -> None:
    """SQLITE_IMPORT_CACHE_KIB of page cache on this session's SQLite connection until its transaction ends."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    previous = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KIB}")

    def restore(_session: Session) -> None:
        raw.execute(f"PRAGMA cache_size={previous}")
        raw.execute("PRAGMA shrink_memory")  # the pooled connection keeps no 256 MiB of pages

    for name in ("after_commit", "after_rollback"):
        event.listen(session, name, restore, once=True)


def run_import(
    session: Session, dataset_id: int, source: ImportSource, *, on_error: OnError = OnError.abort,
    batch_size: int = 2000, author: str = "import", progress: Progress | None = None,
    parallelism: Parallelism | None = None,
) -> ImportOutcome:
    """Validate all of `source` and write its good rows; with `on_error=abort`, write nothing if a line is bad.

    A source validated in one piece is written only once it is all validated, so no statement reaches
    the database before (on SQLite the write lock is held only while rows are written). A large one is
    validated by the import workers piece by piece, and each piece is written as soon as it and all
    before it are validated, while the workers go on: the import then takes about as long as its
    slower half instead of both halves end to end, and the lock is held from the first piece on.
    """
    check_format(source.format)
    abort = on_error is OnError.abort
    dialect = session.get_bind().dialect  # no query: the engine knows its dialect
    encoder = encoder_for(dialect_url(dialect))
    started = time.perf_counter()
    merger = PieceMerger()
    writer: _Writer | None = None
    pieces = 0
    with tempfile.TemporaryDirectory(prefix="winnow-import-") as folder, closing(validate_source(
            source, Path(folder), abort=abort, batch_size=batch_size, dialect=dialect,
            parallelism=parallelism or Parallelism())) as validated_pieces:
        for piece in validated_pieces:
            if source.stop is not None and source.stop.is_set():
                raise ImportStopped("the client disconnected; the import was stopped and nothing was kept")
            pieces += 1
            dropped = merger.add(piece)
            if abort and merger.skipped:
                continue  # nothing will be kept: only look for more errors
            if writer is None:
                last_id_before = _last_example_id(session)  # the first statement: the lock comes with the rows
                writer = _Writer(session, dataset_id, encoder, author, source.format)
            for batch in spooled_batches(piece, dropped):
                writer.write(batch)
                if progress:
                    progress(writer.imported + writer.updated)
    outcome = ImportOutcome(skipped=merger.skipped, errors=merger.reported_errors(),
                            format=source.format if source.format != "auto" else None)
    if abort and merger.skipped:
        if writer:
            writer.discard()
        outcome.aborted = True
        return outcome
    if writer is None:  # an empty file: still a 404 for no dataset
        last_id_before = _last_example_id(session)
        writer = _Writer(session, dataset_id, encoder, author, source.format)
    writer.finish()
    outcome.imported, outcome.updated = writer.imported, writer.updated
    if outcome.imported and session.scalar(select(func.count()).select_from(Dataset)) > 1:
        outcome.already_in_other_datasets = references.count_across_datasets(session, dataset_id, last_id_before)
    log.info("import into dataset %s: %d new, %d updated, %d skipped in %.2f s (%d piece(s))", dataset_id,
             outcome.imported, outcome.updated, outcome.skipped, time.perf_counter() - started, pieces)
    return outcome
