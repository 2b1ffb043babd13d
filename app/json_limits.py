"""One nesting limit for every JSON value the app accepts and stores (API bodies, import lines,
dataset settings and output schemas), so that nothing stored can fail to serialise later.

Pydantic refuses to serialise values nested deeper than about 255 levels and recursive Python code
fails near 1,000; the limit sits well below both.
"""

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

MAX_JSON_DEPTH = 64
# Rows stored before the limit existed keep their content, as JSON text, under this key.
TOO_DEEP_KEY = "_winnow_nested_too_deep"


def depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` has containers (dicts, lists) nested more than `limit` deep. Iterative: any depth is safe."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def too_deep_message(limit: int = MAX_JSON_DEPTH) -> str:
    return f"is nested more than {limit} levels deep (objects and lists inside each other); flatten it"


def check_depth(value: Any) -> Any:
    """A pydantic validator (run before any other): refuse a value nested too deep."""
    if depth_exceeds(value):
        raise ValueError(f"the value {too_deep_message()}")
    return value


# Tables and JSON columns that user input reaches.
STORED_JSON_COLUMNS = (("examples", "metadata"), ("examples", "history"), ("datasets", "settings"),
                       ("datasets", "output_schema"), ("revisions", "old"), ("revisions", "new"))


def repair_stored_json(connection: Connection) -> int:
    """Make rows stored before the limit storable again: a value nested too deep becomes
    {TOO_DEEP_KEY: <its JSON text>} (nothing is lost). Returns the number of values changed.

    Only rows with more than MAX_JSON_DEPTH brackets are parsed, so this is fast on large tables."""
    postgres = connection.dialect.name == "postgresql"
    changed = 0
    for table, column in STORED_JSON_COLUMNS:
        as_text = f'CAST("{column}" AS TEXT)'
        brackets = f"length({as_text}) - length(replace(replace({as_text}, '{{', ''), '[', ''))"
        rows = connection.execute(text(
            f'SELECT id, {as_text} FROM {table} WHERE "{column}" IS NOT NULL AND {brackets} > :limit'),
            {"limit": MAX_JSON_DEPTH}).all()
        for row_id, raw in rows:
            try:
                too_deep = depth_exceeds(json.loads(raw))
            except RecursionError:
                too_deep = True
            if not too_deep:
                continue
            value = json.dumps({TOO_DEEP_KEY: raw})
            target = "CAST(:value AS JSON)" if postgres else ":value"
            connection.execute(text(f'UPDATE {table} SET "{column}" = {target} WHERE id = :id'),
                               {"value": value, "id": row_id})
            changed += 1
    return changed
