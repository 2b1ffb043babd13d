"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`."""

from app.exports.base import ExportRow, chat_messages

NAME = "trl_messages"
DESCRIPTION = "TRL conversational (messages: system/user/assistant)"
KEYS = ("messages",)


def to_record(row: ExportRow) -> dict:
    return {"messages": chat_messages(row)}
