"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`."""

from app.exports.base import ExportFormat, ExportRow, chat_messages



def to_record(row: ExportRow) -> dict:
    return {"messages": chat_messages(row)}


FORMAT = ExportFormat(name="trl_messages", description="TRL conversational (messages: system/user/assistant)",
                      keys=("messages",), to_record=to_record)
