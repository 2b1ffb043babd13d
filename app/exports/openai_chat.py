"""OpenAI chat fine-tuning: `{"messages": [...]}`.

OpenAI puts `weight` on assistant messages (0 = do not train on this turn, 1 = train; nothing else is
accepted). Once any exported pair has a weight, on its answer or an earlier assistant turn, every
assistant message of every line carries one (1 where none was set), written as the integer 0 or 1:
a file whose first lines have no weight and later ones do is read by `datasets` with the schema of
the first lines. Tool calls (`tool_calls` on an assistant turn, `tool_call_id` on a tool turn) are
written as OpenAI defines them; an assistant turn that only calls tools has null content.
"""

from functools import partial

from app.exports.base import ExportRow, ExportRows, conversation, has_message_weights

NAME = "openai_chat"
DESCRIPTION = "OpenAI chat fine-tuning (messages: system/user/assistant/tool; 0/1 weight on assistant turns where set)"
KEYS = ("messages",)
TRAINERS_READ = ("OpenAI fine-tuning", "TRL SFTTrainer", "datasets")


def _weight(value: float | None) -> int | float:
    if value is None:
        return 1
    return int(value) if value in (0, 1) else value  # anything else is reported by the export's OpenAI check


def to_record(row: ExportRow, weighted: bool = False) -> dict:
    messages = conversation(row)
    for message in messages:
        if message["role"] != "assistant":
            continue
        if weighted:
            message["weight"] = _weight(message.get("weight"))
        if message.get("tool_calls") and not message["content"]:
            message["content"] = None
    return {"messages": messages}


def make_encoder(rows: ExportRows):
    return partial(to_record, weighted=has_message_weights(rows))


def not_carried(rows: ExportRows) -> list[str]:
    return []
