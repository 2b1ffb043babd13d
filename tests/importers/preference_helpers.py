"""Parsing helpers shared by the preference import format tests (no database)."""

import io
import json

from app.importers import LineError, ParsedPair, iter_pairs, open_source


def jsonl(*records) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def parse(body: bytes, format: str = "auto", **options):
    source = open_source(io.BytesIO(body), filename="pairs.jsonl", format=format, options=options)
    return list(iter_pairs(source)), source.format


def pairs_of(*records, format: str = "auto", **options) -> tuple[list[ParsedPair], str]:
    items, detected = parse(jsonl(*records), format, **options)
    assert all(isinstance(i, ParsedPair) for i in items), items
    return items, detected


def error_of(*records, format: str = "auto", **options) -> LineError:
    items, _ = parse(jsonl(*records), format, **options)
    errors = [i for i in items if isinstance(i, LineError)]
    assert errors, items
    return errors[0]
