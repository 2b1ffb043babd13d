"""Stream records out of a JSONL, JSON-array or CSV file, with 1-based line numbers.

The source is a seekable binary file (a spooled temporary file for request bodies), read line by
line, so a large body is never held in memory (JSON arrays excepted: they are parsed whole).
"""

import csv
import io
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import IO, Any

import orjson

from app.importers.formats import COMMON_KEYS, FieldError, map_common
from app.importers.registry import FORMATS, UNKNOWN_FORMAT, detect_format
from app.json_limits import depth_exceeds, too_deep_message
from app.text import storable, storable_json

BOM = b"\xef\xbb\xbf"
CSV_JSON_COLUMNS = {"metadata", "messages", "conversations", "history"}
CSV_OPTIONAL_COLUMNS = {"id", "label", "metadata", "weight", "system"}


class FileKind(StrEnum):
    jsonl = "jsonl"
    json = "json"
    csv = "csv"


@dataclass(slots=True)
class LineError:
    line: int
    field: str | None
    message: str


@dataclass(slots=True)
class ParsedPair:
    line: int
    external_id: str | None
    system: str | None
    input: str
    output: str
    history: list[dict] | None
    label: str | None
    metadata: dict | None
    weight: float | None
    rejected: str | None = None  # preference pairs: `output` is the chosen answer
    kto_label: bool | None = None  # unpaired KTO examples


DEFAULT_MAX_CSV_COLUMNS = 256
DEFAULT_MAX_LINE_LENGTH = 16 * 1024 * 1024
# Records read between two looks at `ImportSource.stop`.
STOP_CHECK_EVERY = 1000


class ImportStopped(Exception):
    """The client went away (or the import was stopped otherwise): nothing of it is kept."""


@dataclass
class ImportSource:
    file: IO[bytes]
    kind: FileKind
    format: str = "auto"
    max_csv_columns: int = DEFAULT_MAX_CSV_COLUMNS
    max_line_length: int = DEFAULT_MAX_LINE_LENGTH
    # Set when the client has disconnected: reading stops with ImportStopped.
    stop: threading.Event | None = None
    # Format options, e.g. {"rated_margin": 1.0} (see app/importers/rated.py).
    options: dict = field(default_factory=dict)


def sniff_kind(file: IO[bytes], filename: str | None, content_type: str | None) -> FileKind:
    name = (filename or "").lower()
    ctype = (content_type or "").lower()
    if name.endswith(".csv") or "csv" in ctype:
        return FileKind.csv
    head = file.read(4096)
    file.seek(0)
    if head.startswith(BOM):
        head = head[len(BOM):]
    if head.lstrip()[:1] == b"[":
        return FileKind.json
    return FileKind.jsonl


def open_source(file: IO[bytes], *, filename: str | None = None, content_type: str | None = None,
                format: str = "auto", options: dict | None = None, stop: threading.Event | None = None,
                max_csv_columns: int = DEFAULT_MAX_CSV_COLUMNS,
                max_line_length: int = DEFAULT_MAX_LINE_LENGTH) -> ImportSource:
    return ImportSource(file=file, kind=sniff_kind(file, filename, content_type), format=format,
                        max_csv_columns=max_csv_columns, max_line_length=max_line_length, stop=stop,
                        options=options or {})


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, and Postgres' json type refuses them: refuse them on both databases.
    raise ValueError(f"{name} is not valid JSON")


def _loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # The standard library accepts lone surrogate escapes ("\\ud800"), which orjson refuses;
        # they become U+FFFD later (app.text.storable). It also gives a clearer position when the
        # JSON is really broken. Invalid UTF-8 raises UnicodeDecodeError here.
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)


def _bounded_lines(file, limit: int) -> Iterator[Any | None]:
    """The file's lines; None (after skipping the rest of it) for one longer than `limit`, so that a
    single huge line is never held in memory."""
    while line := file.readline(limit + 1):
        newline = b"\n" if isinstance(line, bytes) else "\n"
        if len(line) <= limit or line.endswith(newline):
            yield line
            continue
        while (rest := file.readline(limit)) and not rest.endswith(newline):
            pass
        yield None


def _jsonl_records(file: IO[bytes], first_line: int = 1,
                   max_line_length: int = DEFAULT_MAX_LINE_LENGTH) -> Iterator[tuple[int, Any] | LineError]:
    for number, raw in enumerate(_bounded_lines(file, max_line_length), start=first_line):
        if raw is None:
            yield LineError(number, None, f"the line is longer than {max_line_length} bytes "
                                          "(WINNOW_IMPORT_MAX_LINE_LENGTH)")
            continue
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        if not raw.strip():
            continue
        try:
            yield number, _loads(raw)
        except UnicodeDecodeError as exc:
            yield LineError(number, None, f"not valid UTF-8 at byte {exc.start + 1}")
        except (ValueError, RecursionError) as exc:
            yield LineError(number, None, f"invalid JSON: {exc}")


def _json_array_records(file: IO[bytes]) -> Iterator[tuple[int, Any] | LineError]:
    raw = file.read()
    if raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        data = _loads(raw)
    except UnicodeDecodeError as exc:
        yield LineError(1, None, f"not valid UTF-8 at byte {exc.start + 1}")
        return
    except (ValueError, RecursionError) as exc:
        yield LineError(1, None, f"invalid JSON: {exc}")
        return
    if not isinstance(data, list):
        yield LineError(1, None, "a JSON file must hold an array of records")
        return
    # In a JSON array the "line" is the record's 1-based position in the array.
    yield from enumerate(data, start=1)


class _LineTooLong(Exception):
    pass


def _csv_lines(text: IO[str], limit: int) -> Iterator[str]:
    for line in _bounded_lines(text, limit):
        if line is None:
            raise _LineTooLong
        yield line


def _csv_records(file: IO[bytes], max_columns: int = DEFAULT_MAX_CSV_COLUMNS,
                 max_line_length: int = DEFAULT_MAX_LINE_LENGTH) -> Iterator[tuple[int, Any] | LineError]:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    too_long = (f"a line is longer than {max_line_length} characters (WINNOW_IMPORT_MAX_LINE_LENGTH); "
                "the rest of the file was not read")
    try:
        reader = csv.DictReader(_csv_lines(text, max_line_length))
        try:
            if not reader.fieldnames:
                return
            if len(reader.fieldnames) > max_columns:
                yield LineError(1, None, f"the header has {len(reader.fieldnames)} columns; at most {max_columns} "
                                         "are allowed (WINNOW_IMPORT_MAX_CSV_COLUMNS)")
                return
        except _LineTooLong:
            yield LineError(1, None, too_long)
            return
        except UnicodeDecodeError as exc:  # the header line itself (found by tests/robustness/test_import_fuzz.py)
            yield LineError(1, None, f"not valid UTF-8 ({exc.reason}); the rest of the file was not read")
            return
        except csv.Error as exc:
            yield LineError(1, None, f"invalid CSV header: {exc}")
            return
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except _LineTooLong:
                yield LineError(reader.line_num + 1, None, too_long)
                return
            except UnicodeDecodeError as exc:
                yield LineError(reader.line_num + 1, None, f"not valid UTF-8 ({exc.reason}); the rest of the file was not read")
                return
            except csv.Error as exc:
                yield LineError(reader.line_num, None, f"invalid CSV: {exc}")
                return
            number = reader.line_num
            if None in row:
                yield LineError(number, None, "more cells than header columns")
                continue
            record: dict[str, Any] = {}
            error = None
            for key, value in row.items():
                if value is None or (value == "" and key in CSV_OPTIONAL_COLUMNS):
                    continue
                if key in CSV_JSON_COLUMNS:
                    try:
                        value = json.loads(value, parse_constant=_refuse_constant)
                    except ValueError as exc:
                        error = LineError(number, key, f"'{key}' must be JSON: {exc}")
                        break
                elif key == "weight":
                    try:
                        value = float(value)
                        if not math.isfinite(value):
                            raise ValueError(value)
                    except ValueError:
                        error = LineError(number, key, f"'weight' must be 0 or 1 (0: do not train on this answer), got {value!r}")
                        break
                record[key] = value
            yield error or (number, record)
    finally:
        text.detach()


def _records(source: ImportSource) -> Iterator[tuple[int, Any] | LineError]:
    source.file.seek(0)
    if source.kind is FileKind.csv:
        records = _csv_records(source.file, source.max_csv_columns, source.max_line_length)
    elif source.kind is FileKind.json:
        records = _json_array_records(source.file)
    else:
        records = _jsonl_records(source.file, max_line_length=source.max_line_length)
    return _stoppable(records, source.stop) if source.stop is not None else records


def _stoppable(records: Iterator, stop: threading.Event) -> Iterator:
    for count, record in enumerate(records):
        if count % STOP_CHECK_EVERY == 0 and stop.is_set():
            raise ImportStopped("the client disconnected; the import was stopped and nothing was kept")
        yield record


def to_pairs(number: int, record: Any, format: str, options: dict) -> list[ParsedPair]:
    """The pair(s) of one record: one, except a `rated` record with a score margin."""
    if not isinstance(record, dict):
        raise FieldError(None, "each record must be a JSON object")
    declared = FORMATS[format]
    mapped = declared.to_pairs(record, options) if declared.to_pairs else [declared.to_pair(record)]
    owned = declared.keys & COMMON_KEYS  # a key the format reads itself (KTO's boolean `label`)
    common = map_common({k: v for k, v in record.items() if k not in owned} if owned else record, declared.keys)
    pairs = []
    for fields in mapped:
        history, metadata = fields["history"], common["metadata"]
        if fields.get("metadata"):
            metadata = {**fields["metadata"], **(metadata or {})}
        for field, value in (("history", history), ("metadata", metadata)):
            if value is not None and depth_exceeds(value):  # the API's limit (app/json_limits.py)
                raise FieldError(field, f"the {field} {too_deep_message()}")
        external_id = common["external_id"]
        if external_id and fields.get("id_suffix"):
            external_id += fields["id_suffix"]
        rejected = fields.get("rejected")
        pairs.append(ParsedPair(
            line=number,
            external_id=storable(external_id) if external_id else None,
            system=storable(fields["system"]) if fields["system"] is not None else None,
            input=storable(fields["input"]),
            output=storable(fields["output"]),
            history=storable_json(history) if history is not None else None,
            label=storable(common["label"]) if common["label"] is not None else None,
            metadata=storable_json(metadata) if metadata is not None else None,
            weight=common["weight"] if common["weight"] is not None else fields.get("weight"),
            rejected=storable(rejected) if rejected is not None else None,
            kto_label=fields.get("kto_label"),
        ))
    return pairs


def detect_record_format(record: Any) -> str | None:
    """The format one record says it is in, or None."""
    return detect_format(record) if isinstance(record, dict) else None


def iter_pairs(source: ImportSource) -> Iterator[ParsedPair | LineError]:
    """Every record as a pair or as an error. With format `auto` the first recognisable
    record decides the format of the whole file (stored back on `source.format`)."""
    return _pairs(_records(source), source)


def iter_jsonl_chunk(data: bytes, first_line: int, format: str,
                     options: dict | None = None) -> Iterator[ParsedPair | LineError]:
    """iter_pairs over a piece of a JSONL file made of whole lines, the first of them numbered `first_line`."""
    return _pairs(_jsonl_records(io.BytesIO(data), first_line),
                  ImportSource(io.BytesIO(), FileKind.jsonl, format, options=options or {}))


def detect_jsonl_format(data: bytes) -> str | None:
    """The format iter_pairs would settle on, if one of these JSONL lines decides it."""
    for item in _jsonl_records(io.BytesIO(data)):
        if not isinstance(item, LineError):
            detected = detect_record_format(item[1])
            if detected:
                return detected
    return None


def _pairs(records: Iterator[tuple[int, Any] | LineError], source: ImportSource) -> Iterator[ParsedPair | LineError]:
    for item in records:
        if isinstance(item, LineError):
            yield item
            continue
        number, record = item
        if source.format == "auto":
            detected = detect_record_format(record)
            if detected is None:
                yield LineError(number, None, UNKNOWN_FORMAT)
                continue
            source.format = detected
        try:
            yield from to_pairs(number, record, source.format, source.options)
        except FieldError as exc:
            yield LineError(number, exc.field, exc.message)
