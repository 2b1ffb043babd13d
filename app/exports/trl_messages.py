"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`."""

from app.exports.base import ExportRow, chat_turns

NAME = "trl_messages"
DESCRIPTION = "TRL conversational (messages: system/user/assistant)"
KEYS = ("messages",)


def to_record(row: ExportRow) -> dict:
    return {"messages": [{"role": role, "content": content} for role, content in chat_turns(row)]}
