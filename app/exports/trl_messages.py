"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`.

Earlier turns keep their tool calls (TRL passes them to the chat template); TRL reads no weights.
"""

from app.exports.base import ExportRow, ExportRows, conversation, has_message_weights

NAME = "trl_messages"
DESCRIPTION = "TRL conversational (messages: system/user/assistant/tool)"
KEYS = ("messages",)
TRAINERS_READ = ("TRL SFTTrainer (all tokens, or assistant_only_loss=True)", "datasets")


def to_record(row: ExportRow) -> dict:
    messages = conversation(row)
    for message in messages:
        message.pop("weight", None)
    return {"messages": messages}


def not_carried(rows: ExportRows) -> list[str]:
    return ["per-message weights (TRL reads none)"] if has_message_weights(rows) else []
