"""One mapping per input format, from a decoded record (a dict) to the fields of a pair.

Each mapper raises `FieldError` naming the field that is missing or wrongly typed.
"""

import math
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
    # An empty system prompt is none (exports write "" where a column needs a value for every line).
    return {"system": system or None, "input": input_text, "output": output, "history": history or None}


def map_input_output(record: dict) -> dict:
    return _pair(_string(record, "system", required=False), _string(record, "input"), _string(record, "output"))


def map_prompt_completion(record: dict) -> dict:
    if isinstance(record.get("prompt"), list):
        return _map_conversational_prompt_completion(record)
    return _pair(_string(record, "system", required=False), _string(record, "prompt"), _string(record, "completion"))


def _map_conversational_prompt_completion(record: dict) -> dict:
    """TRL's conversational prompt-completion: `prompt` the messages up to the user's turn, `completion`
    the assistant's answer as a one-message list."""
    if not isinstance(record.get("completion"), list):
        raise FieldError("completion", "'completion' must be an array of messages, as 'prompt' is, "
                                       f"got {_type_name(record.get('completion'))}")
    prompt = _message_turns(record["prompt"], "prompt")
    completion = _message_turns(record["completion"], "completion")
    if len(completion) != 1 or completion[0][0] != "assistant":
        raise FieldError("completion", "'completion' must hold exactly one message, the assistant's answer")
    if not prompt:
        raise FieldError("prompt", "'prompt' is empty")
    if prompt[-1][0] != "user":
        raise FieldError(f"prompt[{len(prompt) - 1}]", "the last message of the prompt must be the user's")
    system = _string(record, "system", required=False)
    if system:
        prompt.insert(0, ("system", system))
    return _turns_to_pair(prompt + completion, "prompt")


def map_alpaca(record: dict) -> dict:
    instruction = _string(record, "instruction")
    extra = _string(record, "input", required=False) or ""
    # Alpaca's optional `input` is context for the instruction: one prompt holds both.
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return _pair(_string(record, "system", required=False), prompt, _string(record, "output"),
                 _alpaca_history(record.get("history")))


def _alpaca_history(history: Any) -> list[dict] | None:
    """LLaMA-Factory's optional `history` column: earlier [instruction, response] pairs, oldest first."""
    if history is None:
        return None
    if not isinstance(history, list):
        raise FieldError("history", f"'history' must be an array of [instruction, response] pairs, "
                                    f"got {_type_name(history)}")
    messages = []
    for i, turn in enumerate(history):
        if not (isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise FieldError(f"history[{i}]", "each history entry must be an [instruction, response] pair of strings")
        messages += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    return messages


_SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                   "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
                   "tool": "tool", "function_call": "tool", "observation": "tool", "function": "tool"}


def _turns_to_pair(turns: list[tuple[str, str]], key: str) -> dict:
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
    return _pair(system, input_text, output_text, history)


def _message_turns(messages: list, key: str) -> list[tuple[str, str]]:
    """(role, content) of each `{"role", "content"}` message; OpenAI content parts keep their text parts."""
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"{key}[{i}]", f"each message must be an object, got {_type_name(message)}")
        role = _string(message, "role", field=f"{key}[{i}].role")
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise FieldError(f"{key}[{i}].content", f"'content' must be a string, got {_type_name(content)}")
        turns.append((role, content))
    return turns


def map_messages(record: dict) -> dict:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise FieldError("messages", f"'messages' must be an array, got {_type_name(messages)}")
    return _turns_to_pair(_message_turns(messages, "messages"), "messages")


def _answer_weight(record: dict) -> float | None:
    """OpenAI's `weight` on the final assistant message (`messages` format), the pair's weight."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    answer = messages[-1]
    if not isinstance(answer, dict) or answer.get("role") != "assistant":
        return None
    return _weight(answer.get("weight"), f"messages[{len(messages) - 1}].weight")


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
    "alpaca": (map_alpaca, {"instruction", "input", "output", "system", "history"}),
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
    weight = _weight(record.get("weight"), "weight")
    if weight is None and "messages" in format_keys:
        weight = _answer_weight(record)
    extra_keys = record.keys() - COMMON_KEYS - format_keys  # set operations in C: most records have none
    if extra_keys:
        metadata = {**{k: v for k, v in record.items() if k in extra_keys}, **(metadata or {})}
    return {"external_id": external_id, "label": label, "metadata": metadata or None, "weight": weight}
