"""What every import format shares: its declaration (`ImportFormat`), the field readers its mapping uses,
and the optional keys common to all formats (`map_common`).

A format is one module of app/importers/ that declares a module-level `FORMAT`; app/importers/registry.py
finds it. Each mapping raises `FieldError` naming the field that is missing or wrongly typed.
"""

import math
from collections.abc import Callable, Set
from dataclasses import dataclass
from typing import Any

from app.task_types import ALL_TASK_TYPES

COMMON_KEYS = {"id", "label", "metadata", "weight"}


@dataclass(frozen=True)
class ImportFormat:
    name: str
    description: str
    # Top-level keys the mapping reads; other keys (and `metadata`) are kept as the pair's metadata.
    keys: frozenset[str]
    # A decoded record (a dict) -> {"system", "input", "output", "history"}.
    to_pair: Callable[[dict], dict]
    # With format=auto: does a record with these top-level keys look like this format?
    recognises: Callable[[Set[str]], bool]
    # When several formats recognise a record (an Alpaca record has `input` and `output` too), the most
    # specific (highest) wins.
    specificity: int
    # How the keys that make a record this format read in an error message, e.g. "prompt/completion".
    shape: str
    task_types: frozenset[str] = ALL_TASK_TYPES


class FieldError(ValueError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def type_name(value: Any) -> str:
    return {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def string_field(record: dict, key: str, *, required: bool = True, field: str | None = None) -> str | None:
    if key not in record:
        if required:
            raise FieldError(field or key, f"missing field '{key}'")
        return None
    value = record[key]
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise FieldError(field or key, f"'{key}' must be a string, got {type_name(value)}")
    return value


def pair(system: str | None, input_text: str, output: str, history: list[dict] | None = None) -> dict:
    # An empty system prompt is none (exports write "" where a column needs a value for every line).
    return {"system": system or None, "input": input_text, "output": output, "history": history or None}


def turns_to_pair(turns: list[tuple[str, str]], key: str) -> dict:
    """Leading system turns give `system`; the last turn is the output, the one before the input."""
    if not turns:
        raise FieldError(key, f"'{key}' is empty")
    leading = 0
    while leading < len(turns) and turns[leading][0] == "system":
        leading += 1
    if len(turns) - leading < 2:
        raise FieldError(key, f"'{key}' needs a user turn followed by an assistant turn")
    (input_role, input_text), (output_role, output_text) = turns[-2], turns[-1]
    if output_role != "assistant":
        raise FieldError(f"{key}[{len(turns) - 1}]", "the last turn must be the assistant's answer")
    if input_role != "user":
        raise FieldError(f"{key}[{len(turns) - 2}]", "the turn before the answer must be the user's")
    system = "\n\n".join(content for _, content in turns[:leading]) if leading else None
    history = [{"role": role, "content": content} for role, content in turns[leading:-2]]
    return pair(system, input_text, output_text, history)


def message_turns(messages: list, key: str) -> list[tuple[str, str]]:
    """(role, content) of each `{"role", "content"}` message; OpenAI content parts keep their text parts."""
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"{key}[{i}]", f"each message must be an object, got {type_name(message)}")
        role = string_field(message, "role", field=f"{key}[{i}].role")
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise FieldError(f"{key}[{i}].content", f"'content' must be a string, got {type_name(content)}")
        turns.append((role, content))
    return turns


def _answer_weight(record: dict) -> float | None:
    """OpenAI's `weight` on the final assistant message (`messages` format), the pair's weight."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    answer = messages[-1]
    if not isinstance(answer, dict) or answer.get("role") != "assistant":
        return None
    return _weight(answer.get("weight"), f"messages[{len(messages) - 1}].weight")


def _weight(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or math.isnan(value):
        raise FieldError(field, f"'{field}' must be a number >= 0")
    return float(value)


def map_common(record: dict, format_keys: set[str]) -> dict:
    """The optional keys every format shares; other unknown keys are kept in `metadata`. Without a
    top-level `weight`, a `messages` record takes its final assistant message's (OpenAI puts it there)."""
    external_id = record.get("id")
    if external_id is not None:
        if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
            raise FieldError("id", f"'id' must be a string or an integer, got {type_name(external_id)}")
        external_id = str(external_id)
        if not external_id.strip():
            raise FieldError("id", "'id' must not be blank")
        if len(external_id) > 500:
            raise FieldError("id", "'id' is longer than 500 characters")
    label = record.get("label")
    if label is not None:
        if isinstance(label, bool) or not isinstance(label, (str, int, float)):
            raise FieldError("label", f"'label' must be a string or a number, got {type_name(label)}")
        label = str(label)
        if len(label) > 500:
            raise FieldError("label", "'label' is longer than 500 characters")
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise FieldError("metadata", f"'metadata' must be an object, got {type_name(metadata)}")
    weight = _weight(record.get("weight"), "weight")
    if weight is None and "messages" in format_keys:
        weight = _answer_weight(record)
    extra_keys = record.keys() - COMMON_KEYS - format_keys  # set operations in C: most records have none
    if extra_keys:
        metadata = {**{k: v for k, v in record.items() if k in extra_keys}, **(metadata or {})}
    return {"external_id": external_id, "label": label, "metadata": metadata or None, "weight": weight}
