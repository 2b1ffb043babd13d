"""Writing an export's files: JSONL lines with their sha256, token statistics, the zip of everything."""

import hashlib
import uuid
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import orjson

from app.exports.base import ExportRow

SPLIT_FILES = ("train.jsonl", "validation.jsonl", "test.jsonl")
EXPORT_FILES = (*SPLIT_FILES, "manifest.json", "README.md", "all.zip")
ZIPPED_FILES = (*SPLIT_FILES, "manifest.json", "README.md")


def write_jsonl(path: Path, rows: Sequence[ExportRow], encode: Callable[[ExportRow], dict]) -> dict:
    dumps = orjson.dumps
    data = b"".join([dumps(encode(row)) + b"\n" for row in rows])
    path.write_bytes(data)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": len(rows)}


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
