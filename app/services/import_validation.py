"""An import's validation pass: parse, check, hash and encode every record, spooling the good rows.

It runs without a database statement, so on SQLite it holds no lock. A large JSONL source is cut
into pieces of whole lines that worker processes validate side by side (the per-row Python work
of parsing, NFKC normalising and hashing equals SQLite's whole insert, and one core does it at a
time); every other source, and a small one, is validated here in one piece. Either way each piece
gives a `PieceResult`, and `PieceMerger` turns them into what one pass over the whole file would
report: errors in line order, and an `id` repeated across pieces refused on its later line.
"""

import itertools
import os
import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, insert
from sqlalchemy.engine import make_url

from app.config import Settings
from app.importers import FileKind, ImportSource, LineError, ParsedPair, iter_pairs
from app.importers.reader import detect_jsonl_format, iter_jsonl_chunk
from app.models import Example
from app.text import pair_hashes
from app.workers import run_in_workers

MAX_REPORTED_ERRORS = 1000

# Columns of one inserted row, in the order the spooled tuples carry them.
# They follow the table's column order, which is the order of the compiled INSERT's parameters, so
# the tuples go to the driver as they are (re-ordering 50,000 tuples cost ~8% of an import).
INSERT_COLUMNS = ("dataset_id", "external_id", "system", "input", "output", "history", "label", "metadata", "weight",
                  "status", "input_hash", "content_hash", "version", "created_at", "updated_at", "rejected", "kto_label")


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


@lru_cache
def encoder_for(dialect_url: str) -> RowEncoder:
    """The RowEncoder of a dialect named by a URL without host (`sqlite://`, `postgresql+psycopg://`):
    a worker process builds the same encoder as the request's engine without connecting."""
    return RowEncoder(make_url(dialect_url).get_dialect()())


def dialect_url(dialect) -> str:
    return f"{dialect.name}+{dialect.driver}://"


@dataclass
class PieceResult:
    """One piece's validation: its errors (the first MAX_REPORTED_ERRORS), how many lines were bad,
    the (id, line) of every good pair with an id (when asked), and how many rows it spooled to `spool`."""

    spool: str
    errors: list[LineError] = field(default_factory=list)
    skipped: int = 0
    ids: list[tuple[str, int]] = field(default_factory=list)
    rows: int = 0

    def add_error(self, error: LineError) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)


# What each spooled tuple holds, in this order (the write pass reads them by position: it is the hot path).
SPOOLED_FIELDS = ("line", "external_id", "system", "input", "output", "history", "label", "metadata", "weight",
                  "input_hash", "content_hash", "history_for_driver", "metadata_for_driver", "rejected", "kto_label")


def validate_pairs(pairs: Iterable[ParsedPair | LineError], spool_path: str, *, abort: bool, batch_size: int,
                   encoder: RowEncoder, report_ids: bool) -> PieceResult:
    """Every bad line (an `id` repeated within these pairs included) goes to the result; the good pairs
    go to `spool_path` as SPOOLED_FIELDS tuples, in pickled batches. With `report_ids` the result lists
    the (id, line) of every good pair, for PieceMerger to find an id repeated in a later piece."""
    result = PieceResult(spool=spool_path)
    first_line_of_id: dict[str, int] = {}
    batch: list[tuple] = []
    with open(spool_path, "wb") as spool:
        for item in pairs:
            if isinstance(item, LineError):
                result.add_error(item)
                continue
            if item.external_id is not None:
                first = first_line_of_id.setdefault(item.external_id, item.line)
                if first != item.line:
                    result.add_error(LineError(item.line, "id", duplicate_id_message(item.external_id, first)))
                    continue
                if report_ids:
                    result.ids.append((item.external_id, item.line))
            if result.skipped and abort:
                continue  # nothing will be written: only look for more errors
            batch.append((item.line, item.external_id, item.system, item.input, item.output, item.history,
                          item.label, item.metadata, item.weight,
                          *pair_hashes(item.system, item.input, item.output, item.rejected),
                          encoder.json("history", item.history), encoder.json("metadata", item.metadata),
                          item.rejected, item.kto_label))
            if len(batch) >= batch_size:
                result.rows += _dump(batch, spool)
                batch = []
        if batch:
            result.rows += _dump(batch, spool)
    return result


def _dump(batch: list[tuple], spool: IO[bytes]) -> int:
    pickle.dump(batch, spool, pickle.HIGHEST_PROTOCOL)
    return len(batch)


def duplicate_id_message(external_id: str, first_line: int) -> str:
    return f"duplicate id '{external_id}' (first on line {first_line})"


@dataclass(frozen=True)
class PieceTask:
    data: bytes
    first_line: int
    format: str
    spool_path: str
    abort: bool
    batch_size: int
    dialect_url: str
    options: dict = field(default_factory=dict)


def validate_piece(task: PieceTask) -> PieceResult:
    """A worker's job: one piece of whole JSONL lines."""
    return validate_pairs(iter_jsonl_chunk(task.data, task.first_line, task.format, task.options), task.spool_path,
                          abort=task.abort, batch_size=task.batch_size, encoder=encoder_for(task.dialect_url),
                          report_ids=True)


class PieceMerger:
    """Pieces, taken in file order, reported as one pass over the whole file would report them: errors
    in line order, and an `id` already given by an earlier piece refused on its later line."""

    def __init__(self) -> None:
        self.errors: list[LineError] = []
        self.skipped = 0
        self._first_line_of_id: dict[str, int] = {}

    def add(self, piece: PieceResult) -> set[int]:
        """Take the next piece; answer the lines of its spooled rows that must not be written."""
        self.errors += piece.errors
        self.skipped += piece.skipped
        dropped: set[int] = set()
        first_line_of_id = self._first_line_of_id
        for external_id, line in piece.ids:
            first = first_line_of_id.setdefault(external_id, line)
            if first != line:
                dropped.add(line)
                self.skipped += 1
                self.errors.append(LineError(line, "id", duplicate_id_message(external_id, first)))
        return dropped

    def reported_errors(self) -> list[LineError]:
        return sorted(self.errors, key=lambda error: error.line)[:MAX_REPORTED_ERRORS]


def spooled_batches(piece: PieceResult, dropped: set[int]) -> Iterator[list[tuple]]:
    """A piece's spooled rows in file order, without the `dropped` lines."""
    with open(piece.spool, "rb") as spool:
        while True:
            try:
                batch = pickle.load(spool)
            except EOFError:
                return
            yield [fields for fields in batch if fields[0] not in dropped] if dropped else batch


def warm_up_worker() -> None:
    """What a validation worker does once it starts: import the models and SQLAlchemy now, not during the
    first import."""
    encoder_for("sqlite://")


@dataclass(frozen=True)
class Parallelism:
    """How a JSONL source is validated: by `workers` processes in pieces of about `piece_bytes`
    once it has at least `min_bytes`; in this process otherwise (or with fewer than 2 workers)."""

    workers: int = 1
    min_bytes: int = 4 << 20
    piece_bytes: int | None = None  # None: a size that gives every worker about eight pieces

    @classmethod
    def from_settings(cls, settings: Settings) -> "Parallelism":
        return cls(workers=settings.import_workers, min_bytes=settings.import_parallel_min_bytes)

    def applies(self, source: ImportSource, size: int) -> bool:
        return self.workers > 1 and source.kind is FileKind.jsonl and size >= max(self.min_bytes, 1)

    def piece_size(self, size: int) -> int:
        if self.piece_bytes:
            return self.piece_bytes
        return max(256 << 10, min(4 << 20, size // (self.workers * 8) + 1))


def validate_source(source: ImportSource, folder: Path, *, abort: bool, batch_size: int, dialect,
                    parallelism: Parallelism = Parallelism()) -> Iterator[PieceResult]:
    """Validate all of `source` piece by piece, in file order, spooling the good rows into files under
    `folder`. A piece is yielded as soon as it and every piece before it are validated."""
    size = source.file.seek(0, os.SEEK_END)  # each pass below starts by going back to the start
    url = dialect_url(dialect)
    if parallelism.applies(source, size):
        source.file.seek(0)
        pieces = _read_pieces(source.file, parallelism.piece_size(size))
        first = next(pieces)
        given = source.format
        format = given if given != "auto" else detect_jsonl_format(first[0])
        if format is not None:
            # The first piece keeps `auto`, so lines before the deciding one get the same error as in one pass.
            tasks = (PieceTask(data=data, first_line=first_line, format=given if index == 0 else format,
                               spool_path=str(folder / f"piece-{index}"), abort=abort, batch_size=batch_size,
                               dialect_url=url, options=source.options)
                     for index, (data, first_line) in enumerate(itertools.chain([first], pieces)))
            source.format = format
            yield from run_in_workers(validate_piece, tasks, parallelism.workers, warm_up=warm_up_worker)
            return
        # No line of the first piece settles the format: one pass reports the lines before the one that does.
    yield validate_pairs(iter_pairs(source), str(folder / "piece-0"), abort=abort, batch_size=batch_size,
                         encoder=encoder_for(url), report_ids=False)  # one piece: its own check is the whole one


def _read_pieces(file: IO[bytes], piece_size: int) -> Iterator[tuple[bytes, int]]:
    """(whole lines of about piece_size bytes, the number of their first line)."""
    first_line = 1
    while data := file.read(piece_size):
        if not data.endswith(b"\n"):
            data += file.readline()
        yield data, first_line
        first_line += data.count(b"\n")
