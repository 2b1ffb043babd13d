"""Writing an export's files: JSONL lines with their sha256, token statistics, the zip of everything."""

import hashlib
import uuid
import zipfile
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path

import numpy as np
import orjson

from app.exports.base import ExportRow, ExportRows

SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")
EXPORT_FILES = (*SPLIT_FILES, "manifest.json", "README.md", "all.zip")
ZIPPED_FILES = (*SPLIT_FILES, "manifest.json", "README.md")


# Marker texts for deriving a format's line template: private-use characters, which orjson writes as they
# are and no format adds itself.
_INPUT_MARK, _OUTPUT_MARK = "\ue000winnow input\ue000", "\ue000winnow output\ue000"


def line_template(encode: Callable[[ExportRow], dict]) -> tuple[bytes, bytes, bytes] | None:
    """(before the input, between input and output, after the output) of a plain pair's line, read off
    the line of a probe pair whose texts are markers; None if the line does not hold them once each,
    input first (then every pair is encoded through `encode`)."""
    probe = ExportRow(id=0, system=None, input=_INPUT_MARK, output=_OUTPUT_MARK, history=None, label=None,
                      weight=None, status="pending", input_hash="")
    record = encode(probe)
    if not isinstance(record, dict):  # a format writing several lines per pair (kto) has no template
        return None
    line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    input_mark, output_mark = orjson.dumps(_INPUT_MARK), orjson.dumps(_OUTPUT_MARK)
    if line.count(input_mark) != 1 or line.count(output_mark) != 1:
        return None
    before, rest = line.split(input_mark)
    if output_mark not in rest:
        return None
    between, after = rest.split(output_mark)
    return before, between, after


def encode_lines(rows: ExportRows, encode: Callable[[ExportRow], dict]) -> list[bytes]:
    """One JSONL line per pair, `orjson.dumps(encode(row)) + b"\\n"`, in row order.

    Plain pairs (no system prompt, history or weight: most datasets) are written from the format's
    line template, their input and output encoded by one orjson call each: no record dicts, and when
    every pair is plain, no per-row Python code either (the pieces are joined in C). The bytes are
    the same as through `encode` (tests/exports/test_formats.py). Call it with the pairs in the order
    the database returned them and shuffle the finished lines: reading 50,000 texts in a shuffled
    order costs more in cache misses than joining the lines in it."""
    dumps = orjson.dumps
    template = line_template(encode)
    if template is None:
        return [_dump_record(encode(row)) for row in rows]
    before, between, after = template
    if rows.all_plain():
        return list(map(b"".join, zip(repeat(before), map(dumps, rows.inputs), repeat(between),
                                      map(dumps, rows.outputs), repeat(after))))
    return [before + dumps(rows.inputs[i]) + between + dumps(rows.outputs[i]) + after
            if rows.is_plain(i) else dumps(encode(rows.row(i)), option=orjson.OPT_APPEND_NEWLINE)
            for i in range(len(rows))]


def _dump_record(record: dict | list[dict]) -> bytes:
    """A record's JSONL line; a list of records (kto writes a pair as two) gives one line each."""
    if isinstance(record, list):
        return b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in record)
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def write_jsonl(path: Path, lines: Sequence[bytes]) -> dict:
    """Write the lines; their sha256, size and count. Both hashing and writing release the GIL, so this
    can run in a thread beside Python work. An item may hold several lines (kto): rows counts lines (JSON
    escapes a newline inside a string, so each newline ends a line)."""
    data = b"".join(lines)
    path.write_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": data.count(b"\n")}


def write_text(path: Path, text: str) -> dict:
    data = text.encode("utf-8")
    path.write_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def token_stats(counts: Sequence[int]) -> dict:
    if not len(counts):
        return {"examples": 0, "min": 0, "mean": 0.0, "p95": 0.0, "max": 0, "total": 0}
    array = np.asarray(counts, dtype=np.int64)
    return {"examples": int(array.size), "min": int(array.min()), "mean": round(float(array.mean()), 2),
            "p95": round(float(np.percentile(array, 95)), 2), "max": int(array.max()), "total": int(array.sum())}


def build_zip(folder: Path) -> Path:
    """all.zip of the export's files, made once on first request (atomic rename: concurrent requests are safe)."""
    target = folder / "all.zip"
    if target.exists():
        return target
    partial = folder / f".all.zip.{uuid.uuid4().hex}"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ZIPPED_FILES:
            if (folder / name).exists():
                archive.write(folder / name, arcname=name)
    partial.replace(target)
    return target
