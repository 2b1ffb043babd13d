"""OpenAI chat fine-tuning: `{"messages": [...]}`.

OpenAI puts `weight` on assistant messages (0 = do not train on this turn, 1 = train; nothing else is
accepted). Once any exported pair has a weight, on its answer or an earlier assistant turn, every
assistant message of every line carries one (1 where none was set), written as the integer 0 or 1:
a file whose first lines have no weight and later ones do is read by `datasets` with the schema of
the first lines. Tool calls (`tool_calls` on an assistant turn, `tool_call_id` on a tool turn) are
written as OpenAI defines them; an assistant turn that only calls tools has null content; the function
definitions an import kept go to `tools`.
"""

from functools import partial

import numpy as np

from app.exports.base import ExportFormat, ExportRow, ExportRows, conversation, has_message_weights


def _weight(value: float | None) -> int | float:
    if value is None:
        return 1
    return int(value) if value in (0, 1) else value  # anything else is reported by the export's OpenAI check


def to_record(row: ExportRow, weighted: bool = False, tools: dict | None = None) -> dict:
    messages = conversation(row)
    for message in messages:
        if message["role"] != "assistant":
            continue
        if weighted:
            message["weight"] = _weight(message.get("weight"))
        if message.get("tool_calls") and not message["content"]:
            message["content"] = None
    if tools is None:
        return {"messages": messages}
    # Every line has the key once any has (`datasets` reads the columns of a file's first lines).
    return {"messages": messages, "tools": tools.get(row.id)}


def make_encoder(rows: ExportRows):
    return partial(to_record, weighted=has_message_weights(rows), tools=rows.tools or None)


def not_carried(rows: ExportRows) -> list[str]:
    return []


# OpenAI's published rules for a chat fine-tuning file, checked on the written lines so that a violation
# shows in the export answer rather than at upload to the provider.
MIN_TRAIN_EXAMPLES = 10
# gpt-4o-mini / gpt-4.1 take 65,536 tokens per training example (gpt-3.5-turbo: 16,385).
MAX_TOKENS_PER_EXAMPLE = 65_536
# As OpenAI's cookbook counts a chat: a few tokens of formatting per message and for the reply.
TOKENS_PER_MESSAGE, TOKENS_PER_REPLY = 3, 3
LINE_KEYS = {"messages", "tools", "parallel_tool_calls"}
MESSAGE_KEYS = {"role", "content", "weight", "tool_calls", "tool_call_id", "name"}
ROLES = {"system", "user", "assistant", "tool"}
MAX_LISTED = 50


# The message every plain pair is made of: nothing to check but its role and content.
PLAIN_MESSAGE_KEYS = {"role", "content"}


def _message_ok(message: dict) -> bool:
    if message.keys() == PLAIN_MESSAGE_KEYS:
        return message["role"] in ROLES and message["content"] is not None
    weight = message.get("weight")
    return (message.keys() <= MESSAGE_KEYS and message.get("role") in ROLES
            and (weight is None and "weight" not in message or weight in (0, 1) and message["role"] == "assistant")
            and (message.get("content") is not None or bool(message.get("tool_calls"))))


def _line_ok(messages: list, record: dict) -> bool:
    """Whether a line breaks none of the rules: set operations on key views, no message text built.
    Nearly every line passes, and naming what is wrong (`_line_problems`) costs several times more."""
    if not record.keys() <= LINE_KEYS:
        return False
    assistant = False
    for message in messages:
        if not _message_ok(message):
            return False
        assistant = assistant or message["role"] == "assistant"
    return assistant


def _line_problems(record: dict) -> list[tuple[str, str]]:
    problems = []
    unknown = sorted(set(record) - LINE_KEYS)
    if unknown:
        problems.append(("unknown_key", f"keys OpenAI does not accept: {unknown}"))
    messages = record.get("messages") or []
    if not any(m.get("role") == "assistant" for m in messages):
        problems.append(("no_assistant", "no assistant message"))
    for i, message in enumerate(messages):
        if message.get("role") not in ROLES:
            problems.append(("role", f"messages[{i}].role {message.get('role')!r} is not one of {sorted(ROLES)}"))
        extra = sorted(set(message) - MESSAGE_KEYS)
        if extra:
            problems.append(("unknown_key", f"messages[{i}] has keys OpenAI does not accept: {extra}"))
        if "weight" in message and message["weight"] not in (0, 1):
            problems.append(("weight", f"messages[{i}].weight is {message['weight']!r}; OpenAI accepts only 0 and 1"))
        if "weight" in message and message.get("role") != "assistant":
            problems.append(("weight", f"messages[{i}] is not an assistant message but carries a weight"))
        if message.get("content") is None and not message.get("tool_calls"):
            problems.append(("content", f"messages[{i}] has no content"))
    return problems


def check_export(lines: dict[str, "list[bytes] | tuple[bytes, ...]"], example_ids: dict[str, list[int]],
                 token_counts: dict, tokenizer: str) -> dict:
    """OpenAI's rules on the written lines: at least 10 training examples, known roles and keys, an
    assistant message on every line, 0/1 weights, and at most MAX_TOKENS_PER_EXAMPLE tokens per line."""
    import orjson

    violations: list[dict] = []
    by_rule: dict[str, int] = {}

    def report(rule: str, message: str, split: str | None = None, line: int | None = None,
               example_id: int | None = None) -> None:
        by_rule[rule] = by_rule.get(rule, 0) + 1
        if len(violations) < MAX_LISTED:
            violations.append({"rule": rule, "split": split, "line": line, "example_id": example_id, "message": message})

    train = len(lines.get("train", ()))
    if train < MIN_TRAIN_EXAMPLES:
        report("min_examples", f"the training file has {train} example(s); OpenAI requires at least {MIN_TRAIN_EXAMPLES}",
               "train")
    loads = orjson.loads
    for split, split_lines in lines.items():
        ids = example_ids[split]
        messages_per_line = np.zeros(len(split_lines), dtype=np.int64)
        for index, raw in enumerate(split_lines):
            record = loads(raw)
            messages = record.get("messages")
            if isinstance(messages, list):
                messages_per_line[index] = len(messages)
            if not (messages and isinstance(messages, list) and _line_ok(messages, record)):
                for rule, message in _line_problems(record):
                    report(rule, message, split, index + 1, ids[index])
        tokens = np.asarray(token_counts[split], dtype=np.int64) + TOKENS_PER_MESSAGE * messages_per_line + TOKENS_PER_REPLY
        for index in np.nonzero(tokens > MAX_TOKENS_PER_EXAMPLE)[0].tolist():
            report("token_limit", f"about {int(tokens[index]):,} tokens; OpenAI trains on at most "
                   f"{MAX_TOKENS_PER_EXAMPLE:,} per example (longer ones are truncated)", split, index + 1, ids[index])
    return {"rules": "OpenAI chat fine-tuning", "passed": not violations and not by_rule,
            "violations_by_rule": by_rule, "violations": violations,
            "token_limit": MAX_TOKENS_PER_EXAMPLE, "tokens_counted_with": tokenizer}


FORMAT = ExportFormat(
    name="openai_chat",
    description="OpenAI chat fine-tuning (messages: system/user/assistant/tool; 0/1 weight on assistant turns where set)",
    keys=("messages",),
    to_record=to_record,
    make_encoder=make_encoder,
    optional_keys=("tools",),
    read_by=("OpenAI fine-tuning", "TRL SFTTrainer", "datasets"),
    not_carried=not_carried,
    check_export=check_export,
)
