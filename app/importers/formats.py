"""What every import format shares: its declaration (`ImportFormat`), the field readers its mapping uses,
and the optional keys common to all formats (`map_common`).

A format is one module of app/importers/ that declares a module-level `FORMAT`; app/importers/registry.py
finds it. Each mapping raises `FieldError` naming the field that is missing or wrongly typed.
"""

import json
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Any

from app.task_types import SFT_TASK_TYPES

COMMON_KEYS = {"id", "label", "metadata", "weight"}


@dataclass(frozen=True)
class ImportFormat:
    name: str
    description: str
    # Top-level keys the mapping reads; other keys (and `metadata`) are kept as the pair's metadata.
    keys: frozenset[str]
    # A decoded record (a dict) -> {"system", "input", "output", "history"}.
    to_pair: Callable[[dict], dict]
    # With format=auto: does a record look like this format? It is given the record itself (a dict, whose
    # `in` tests its keys), or only a set of keys; a format that needs a value (KTO's boolean `label`)
    # answers False for a bare set.
    recognises: Callable[[Set[str] | Mapping[str, Any]], bool]
    # When several formats recognise a record (an Alpaca record has `input` and `output` too), the most
    # specific (highest) wins.
    specificity: int
    # How the keys that make a record this format read in an error message, e.g. "prompt/completion".
    shape: str
    # The datasets it imports into: an SFT format never into a preference dataset, nor the other way round.
    task_types: frozenset[str] = SFT_TASK_TYPES
    # A record that may give several pairs (`rated` with a margin), with the import's options:
    # (record, options) -> [pair fields]; when set, the reader uses it instead of `to_pair`.
    to_pairs: Callable[[dict, dict], list[dict]] | None = None


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


Turn = tuple[str, str, dict[str, Any]]  # role, content, what else the message carries (weight, tool calls)


def turns_to_pair(turns: list[Turn], key: str) -> dict:
    """Leading system turns give `system`; the last turn is the output, the one before the input; the
    turns between are the history, each message keeping its weight and tool calls."""
    if not turns:
        raise FieldError(key, f"'{key}' is empty")
    leading = 0
    while leading < len(turns) and turns[leading][0] == "system":
        leading += 1
    if len(turns) - leading < 2:
        raise FieldError(key, f"'{key}' needs a user turn followed by an assistant turn")
    (input_role, input_text, _), (output_role, output_text, output_extras) = turns[-2], turns[-1]
    if output_role != "assistant":
        raise FieldError(f"{key}[{len(turns) - 1}]", "the last turn must be the assistant's answer")
    if output_extras.get("tool_calls"):
        raise FieldError(f"{key}[{len(turns) - 1}].tool_calls",
                         "the last turn calls tools: Winnow keeps a conversation whose final assistant turn is a "
                         "text answer to the user's last message (tool calls are kept on earlier turns)")
    if input_role != "user":
        hint = (" (a final answer after a tool result is not supported: the answer must follow the user's turn)"
                if input_role == "tool" else "")
        raise FieldError(f"{key}[{len(turns) - 2}]", f"the turn before the answer must be the user's{hint}")
    _check_tool_chain(turns, key)
    system = "\n\n".join(content for _, content, _ in turns[:leading]) if leading else None
    history = [{"role": role, "content": content, **extras} for role, content, extras in turns[leading:-2]]
    fields = pair(system, input_text, output_text, history)
    fields["weight"] = output_extras.get("weight")
    return fields


def _check_tool_chain(turns: list[Turn], key: str) -> None:
    """Every tool turn answers a call of the assistant turn before it, and every call is answered before
    the conversation goes on: an exported conversation is never left with an orphan tool turn."""
    pending: set[str] = set()
    for i, (role, _, extras) in enumerate(turns):
        if role == "tool":
            call_id = extras.get("tool_call_id")
            if call_id not in pending:
                raise FieldError(f"{key}[{i}].tool_call_id",
                                 f"tool turn answers no open call of the assistant turn before it (tool_call_id {call_id!r})")
            pending.discard(call_id)
            continue
        if pending:
            raise FieldError(f"{key}[{i}]", f"tool call(s) {sorted(pending)} have no tool turn answering them")
        if role == "assistant":
            pending = {call["id"] for call in extras.get("tool_calls") or ()}


def tool_calls(value: Any, field: str) -> list[dict]:
    """OpenAI's `tool_calls`: [{"id", "type": "function", "function": {"name", "arguments"}}]."""
    if not isinstance(value, list) or not value:
        raise FieldError(field, f"'tool_calls' must be a non-empty array, got {type_name(value)}")
    calls = []
    for i, call in enumerate(value):
        function = call.get("function") if isinstance(call, dict) else None
        if not (isinstance(call, dict) and isinstance(call.get("id"), str) and isinstance(function, dict)
                and isinstance(function.get("name"), str)):
            raise FieldError(f"{field}[{i}]", "each tool call needs a string 'id' and a 'function' with a string 'name'")
        arguments = function.get("arguments", "{}")
        if not isinstance(arguments, str):  # OpenAI's form: the arguments as a JSON string
            arguments = json.dumps(arguments, ensure_ascii=False)
        try:
            json.loads(arguments)
        except ValueError:
            raise FieldError(f"{field}[{i}].function.arguments", "'arguments' must be JSON") from None
        calls.append({"id": call["id"], "type": "function", "function": {"name": function["name"], "arguments": arguments}})
    return calls


def _message_extras(message: dict, role: str, field: str, is_last: bool) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if message.get("weight") is not None:
        if role != "assistant":
            raise FieldError(f"{field}.weight", "only assistant turns carry a weight")
        weight = _weight(message["weight"], f"{field}.weight")
        if weight == 0 or is_last:  # 1 is every trainer's default: kept only on the answer, the pair's weight
            extras["weight"] = weight
    if message.get("tool_calls") is not None:
        if role != "assistant":
            raise FieldError(f"{field}.tool_calls", "only assistant turns call tools")
        extras["tool_calls"] = tool_calls(message["tool_calls"], f"{field}.tool_calls")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise FieldError(f"{field}.tool_call_id", "a tool turn needs the 'tool_call_id' of the call it answers")
        extras["tool_call_id"] = call_id
    if isinstance(message.get("name"), str) and role in ("tool", "user", "system"):
        extras["name"] = message["name"]
    return extras


def message_turns(messages: list, key: str) -> list[Turn]:
    """(role, content, extras) of each `{"role", "content"}` message; OpenAI content parts keep their
    text parts; an assistant turn that only calls tools may have null content."""
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"{key}[{i}]", f"each message must be an object, got {type_name(message)}")
        role = string_field(message, "role", field=f"{key}[{i}].role")
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if content is None and role == "assistant" and message.get("tool_calls"):
            content = ""
        if not isinstance(content, str):
            raise FieldError(f"{key}[{i}].content", f"'content' must be a string, got {type_name(content)}")
        turns.append((role, content, _message_extras(message, role, f"{key}[{i}]", i == len(messages) - 1)))
    return turns


def _weight(value: Any, field: str) -> float | None:
    """A training weight: 0 (do not train on this answer) or 1, the only values OpenAI accepts."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in (0, 1):
        raise FieldError(field, f"'{field}' must be 0 or 1 (0: do not train on this answer), got {value!r}")
    return float(value)


def map_common(record: dict, format_keys: set[str]) -> dict:
    """The optional keys every format shares; other unknown keys are kept in `metadata`. Without a
    top-level `weight`, a conversation takes its final assistant message's (OpenAI puts it there; the
    format's mapping returns it as `weight`)."""
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
    extra_keys = record.keys() - COMMON_KEYS - format_keys  # set operations in C: most records have none
    if extra_keys:
        metadata = {**{k: v for k, v in record.items() if k in extra_keys}, **(metadata or {})}
    return {"external_id": external_id, "label": label, "metadata": metadata or None, "weight": weight}
