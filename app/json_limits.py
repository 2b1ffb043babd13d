"""One nesting limit for every JSON value the app accepts and stores (API bodies, import lines,
dataset settings and output schemas), so that nothing stored can fail to serialise later.

Pydantic refuses to serialise values nested deeper than about 255 levels and recursive Python code
fails near 1,000; the limit sits well below both.
"""

from typing import Any

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
