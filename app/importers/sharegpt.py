"""ShareGPT: `{"conversations": [{"from", "value"}, ...]}`."""

from app.importers.formats import FieldError, ImportFormat, string_field, turns_to_pair, type_name


_SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                   "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
                   "tool": "tool", "function_call": "tool", "observation": "tool", "function": "tool"}


def map_sharegpt(record: dict) -> dict:
    conversations = record.get("conversations")
    if not isinstance(conversations, list):
        raise FieldError("conversations", f"'conversations' must be an array, got {type_name(conversations)}")
    turns = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict):
            raise FieldError(f"conversations[{i}]", f"each turn must be an object, got {type_name(turn)}")
        speaker = string_field(turn, "from", field=f"conversations[{i}].from")
        value = string_field(turn, "value", field=f"conversations[{i}].value")
        role = _SHAREGPT_ROLES.get(speaker.lower())
        if role is None:
            raise FieldError(f"conversations[{i}].from", f"unknown speaker '{speaker}'")
        turns.append((role, value))
    if "system" in record and isinstance(record["system"], str) and record["system"]:
        turns.insert(0, ("system", record["system"]))
    return turns_to_pair(turns, "conversations")


FORMAT = ImportFormat(
    name="sharegpt", description="ShareGPT (conversations of from/value turns)",
    keys=frozenset({"conversations", "system"}), to_pair=map_sharegpt,
    recognises=lambda keys: "conversations" in keys, specificity=40, shape="conversations (sharegpt)",
)
