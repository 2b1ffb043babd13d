"""ShareGPT: `{"conversations": [{"from", "value"}, ...]}`; LLaMA-Factory's `function_call` turns become the
assistant's tool calls and `observation` turns their results."""

import json

from app.importers.formats import FieldError, ImportFormat, Turn, string_field, tool_calls, turns_to_pair, type_name


_SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                   "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
                   "tool": "tool", "function_call": "assistant", "observation": "tool", "function": "tool"}


def map_sharegpt(record: dict) -> dict:
    conversations = record.get("conversations")
    if not isinstance(conversations, list):
        raise FieldError("conversations", f"'conversations' must be an array, got {type_name(conversations)}")
    turns: list[Turn] = []
    open_calls: list[str] = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict):
            raise FieldError(f"conversations[{i}]", f"each turn must be an object, got {type_name(turn)}")
        speaker = string_field(turn, "from", field=f"conversations[{i}].from")
        value = string_field(turn, "value", field=f"conversations[{i}].value")
        role = _SHAREGPT_ROLES.get(speaker.lower())
        if role is None:
            raise FieldError(f"conversations[{i}].from", f"unknown speaker '{speaker}'")
        if speaker.lower() == "function_call":  # LLaMA-Factory: the assistant's call(s), answered by `observation`s
            calls = _sharegpt_calls(value, i, f"conversations[{i}].value")
            open_calls = [call["id"] for call in calls]
            turns.append(("assistant", "", {"tool_calls": calls}))
        elif role == "tool":
            if not open_calls:
                raise FieldError(f"conversations[{i}].from", f"'{speaker}' turn answers no function_call before it")
            turns.append(("tool", value, {"tool_call_id": open_calls.pop(0)}))
        else:
            turns.append((role, value, {}))
    if "system" in record and isinstance(record["system"], str) and record["system"]:
        turns.insert(0, ("system", record["system"], {}))
    return turns_to_pair(turns, "conversations")


def _sharegpt_calls(value: str, position: int, field: str) -> list[dict]:
    try:
        named = json.loads(value)
    except ValueError:
        raise FieldError(field, "a function_call turn's value must be JSON: {\"name\", \"arguments\"}") from None
    named = named if isinstance(named, list) else [named]
    return tool_calls([{"id": f"call_{position}_{k}", "type": "function",
                         "function": {"name": call.get("name"), "arguments": call.get("arguments", {})}}
                        if isinstance(call, dict) else call for k, call in enumerate(named)], field)


FORMAT = ImportFormat(
    name="sharegpt", description="ShareGPT (conversations of from/value turns)",
    keys=frozenset({"conversations", "system"}), to_pair=map_sharegpt,
    recognises=lambda keys: "conversations" in keys, specificity=40, shape="conversations (sharegpt)",
)
