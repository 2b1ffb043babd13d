"""One mapping per input format, from a decoded record (a dict) to the fields of a pair.

Each mapper raises `FieldError` naming the field that is missing or wrongly typed.
"""

import json
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
        prompt.insert(0, ("system", system, {}))
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
                   "tool": "tool", "function_call": "assistant", "observation": "tool", "function": "tool"}


Turn = tuple[str, str, dict[str, Any]]  # role, content, what else the message carries (weight, tool calls)


def _turns_to_pair(turns: list[Turn], key: str) -> dict:
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
    fields = _pair(system, input_text, output_text, history)
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


def _tool_calls(value: Any, field: str) -> list[dict]:
    """OpenAI's `tool_calls`: [{"id", "type": "function", "function": {"name", "arguments"}}]."""
    if not isinstance(value, list) or not value:
        raise FieldError(field, f"'tool_calls' must be a non-empty array, got {_type_name(value)}")
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
        extras["tool_calls"] = _tool_calls(message["tool_calls"], f"{field}.tool_calls")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise FieldError(f"{field}.tool_call_id", "a tool turn needs the 'tool_call_id' of the call it answers")
        extras["tool_call_id"] = call_id
    if isinstance(message.get("name"), str) and role in ("tool", "user", "system"):
        extras["name"] = message["name"]
    return extras


def _message_turns(messages: list, key: str) -> list[Turn]:
    """(role, content, extras) of each `{"role", "content"}` message; OpenAI content parts keep their
    text parts; an assistant turn that only calls tools may have null content."""
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise FieldError(f"{key}[{i}]", f"each message must be an object, got {_type_name(message)}")
        role = _string(message, "role", field=f"{key}[{i}].role")
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if content is None and role == "assistant" and message.get("tool_calls"):
            content = ""
        if not isinstance(content, str):
            raise FieldError(f"{key}[{i}].content", f"'content' must be a string, got {_type_name(content)}")
        turns.append((role, content, _message_extras(message, role, f"{key}[{i}]", i == len(messages) - 1)))
    return turns


def map_messages(record: dict) -> dict:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise FieldError("messages", f"'messages' must be an array, got {_type_name(messages)}")
    tools = record.get("tools")  # OpenAI's function definitions: kept in metadata, exported beside the calls
    if tools is not None and not (isinstance(tools, list) and all(isinstance(t, dict) for t in tools)):
        raise FieldError("tools", f"'tools' must be an array of objects, got {_type_name(tools)}")
    return _turns_to_pair(_message_turns(messages, "messages"), "messages")


def map_sharegpt(record: dict) -> dict:
    conversations = record.get("conversations")
    if not isinstance(conversations, list):
        raise FieldError("conversations", f"'conversations' must be an array, got {_type_name(conversations)}")
    turns: list[Turn] = []
    open_calls: list[str] = []
    for i, turn in enumerate(conversations):
        if not isinstance(turn, dict):
            raise FieldError(f"conversations[{i}]", f"each turn must be an object, got {_type_name(turn)}")
        speaker = _string(turn, "from", field=f"conversations[{i}].from")
        value = _string(turn, "value", field=f"conversations[{i}].value")
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
    return _turns_to_pair(turns, "conversations")


def _sharegpt_calls(value: str, position: int, field: str) -> list[dict]:
    try:
        named = json.loads(value)
    except ValueError:
        raise FieldError(field, "a function_call turn's value must be JSON: {\"name\", \"arguments\"}") from None
    named = named if isinstance(named, list) else [named]
    return _tool_calls([{"id": f"call_{position}_{k}", "type": "function",
                         "function": {"name": call.get("name"), "arguments": call.get("arguments", {})}}
                        if isinstance(call, dict) else call for k, call in enumerate(named)], field)


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
    """A training weight: 0 (do not train on this answer) or 1, the only values OpenAI accepts."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in (0, 1):
        raise FieldError(field, f"'{field}' must be 0 or 1 (0: do not train on this answer), got {value!r}")
    return float(value)


def map_common(record: dict, format_keys: set[str]) -> dict:
    """The optional keys every format shares; other unknown keys are kept in `metadata`. Without a
    top-level `weight`, a conversation takes its final assistant message's (OpenAI puts it there; the
    format's mapper returns it)."""
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
    extra_keys = record.keys() - COMMON_KEYS - format_keys  # set operations in C: most records have none
    if extra_keys:
        metadata = {**{k: v for k, v in record.items() if k in extra_keys}, **(metadata or {})}
    return {"external_id": external_id, "label": label, "metadata": metadata or None, "weight": weight}
