"""One mapping per input format, from a decoded record (a dict) to the fields of a pair.

Each mapper raises `FieldError` naming the field that is missing or wrongly typed.
"""

from collections.abc import Callable
from typing import Any

COMMON_KEYS = {"id", "label", "metadata", "weight"}


class FieldError(ValueError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _type_name(value: Any) -> str:
    return {type(None): "null", bool: "boolean", int: "number", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _string(record: dict, key: str, *, required: bool = True, field: str | None = None) -> str | None:
    if key not in record:
        if required:
            raise FieldError(field or key, f"missing field '{key}'")
        return None
    value = record[key]
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise FieldError(field or key, f"'{key}' must be a string, got {_type_name(value)}")
    return value


def _pair(system: str | None, input_text: str, output: str, history: list[dict] | None = None) -> dict:
    return {"system": system, "input": input_text, "output": output, "history": history or None}


def map_input_output(record: dict) -> dict:
    return _pair(_string(record, "system", required=False), _string(record, "input"), _string(record, "output"))


def map_prompt_completion(record: dict) -> dict:
    return _pair(_string(record, "system", required=False), _string(record, "prompt"), _string(record, "completion"))


def map_alpaca(record: dict) -> dict:
    instruction = _string(record, "instruction")
    extra = _string(record, "input", required=False) or ""
    # Alpaca's optional `input` is context for the instruction: one prompt holds both.
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return _pair(_string(record, "system", required=False), prompt, _string(record, "output"))


_SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                   "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
                   "tool": "tool", "function_call": "tool", "observation": "tool", "function": "tool"}


def _turns_to_pair(turns: list[tuple[str, str]], key: str) -> dict:
    """Leading system turns give `system`; the last turn is the output, the one before the input."""
    if not turns:
        raise FieldError(key, f"'{key}' is empty")
    system_parts = []
    while turns and turns[0][0] == "system":
        system_parts.append(turns[0][1])
        turns = turns[1:]
    if len(turns) < 2:
        raise FieldError(key, f"'{key}' needs a user turn followed by an assistant turn")
    (input_role, input_text), (output_role, output_text) = turns[-2], turns[-1]
    if output_role != "assistant":
        raise FieldError(f"{key}[{len(turns) - 1}]", "the last turn must be the assistant's answer")
    if input_role != "user":
        raise FieldError(f"{key}[{len(turns) - 2}]", "the turn before the answer must be the user's")
    history = [{"role": role, "content": content} for role, content in turns[:-2]]
    return _pair("\n\n".join(system_parts) if system_parts else None, input_text, output_text, history)


def map_messages(record: dict) -> dict:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise FieldError("messages", f"'messages' must be an array, got {_type_name(messages)}")
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"messages[{i}]", f"each message must be an object, got {_type_name(message)}")
        role = _string(message, "role", field=f"messages[{i}].role")
        content = message.get("content")
        if isinstance(content, list):  # OpenAI content parts: keep the text parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise FieldError(f"messages[{i}].content", f"'content' must be a string, got {_type_name(content)}")
        turns.append((role, content))
    return _turns_to_pair(turns, "messages")


def map_sharegpt(record: dict) -> dict:
    conversations = record.get("conversations")
    if not isinstance(conversations, list):
        raise FieldError("conversations", f"'conversations' must be an array, got {_type_name(conversations)}")
    turns = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict):
            raise FieldError(f"conversations[{i}]", f"each turn must be an object, got {_type_name(turn)}")
        speaker = _string(turn, "from", field=f"conversations[{i}].from")
        value = _string(turn, "value", field=f"conversations[{i}].value")
        role = _SHAREGPT_ROLES.get(speaker.lower())
        if role is None:
            raise FieldError(f"conversations[{i}].from", f"unknown speaker '{speaker}'")
        turns.append((role, value))
    if "system" in record and isinstance(record["system"], str) and record["system"]:
        turns.insert(0, ("system", record["system"]))
    return _turns_to_pair(turns, "conversations")


FORMATS: dict[str, tuple[Callable[[dict], dict], set[str]]] = {
    "prompt_completion": (map_prompt_completion, {"prompt", "completion", "system"}),
    "messages": (map_messages, {"messages"}),
    "alpaca": (map_alpaca, {"instruction", "input", "output", "system"}),
    "sharegpt": (map_sharegpt, {"conversations", "system"}),
    "input_output": (map_input_output, {"input", "output", "system"}),
}


def detect_format(keys: set[str]) -> str | None:
    """The format a record's keys say it is in, or None."""
    if "messages" in keys:
        return "messages"
    if "conversations" in keys:
        return "sharegpt"
    if "instruction" in keys:
        return "alpaca"
    if "prompt" in keys and "completion" in keys:
        return "prompt_completion"
    if "input" in keys and "output" in keys:
        return "input_output"
    return None


def map_common(record: dict, format_keys: set[str]) -> dict:
    """The optional keys every format shares; other unknown keys are kept in `metadata`."""
    external_id = record.get("id")
    if external_id is not None:
        if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
            raise FieldError("id", f"'id' must be a string or an integer, got {_type_name(external_id)}")
        external_id = str(external_id)
        if not external_id.strip():
            raise FieldError("id", "'id' must not be blank")
        if len(external_id) > 500:
            raise FieldError("id", "'id' is longer than 500 characters")
    label = record.get("label")
    if label is not None:
        if isinstance(label, bool) or not isinstance(label, (str, int, float)):
            raise FieldError("label", f"'label' must be a string or a number, got {_type_name(label)}")
        label = str(label)
        if len(label) > 500:
            raise FieldError("label", "'label' is longer than 500 characters")
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise FieldError("metadata", f"'metadata' must be an object, got {_type_name(metadata)}")
    weight = record.get("weight")
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0 or weight != weight:
            raise FieldError("weight", "'weight' must be a number >= 0")
        weight = float(weight)
    extra = {k: v for k, v in record.items() if k not in COMMON_KEYS and k not in format_keys}
    if extra:
        metadata = {**extra, **(metadata or {})}
    return {"external_id": external_id, "label": label, "metadata": metadata or None, "weight": weight}
