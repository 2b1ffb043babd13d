"""OpenAI chat fine-tuning: `{"messages": [...]}`.

OpenAI puts `weight` on assistant messages (0 = do not train on this turn), so an example's weight,
where set, goes on its final assistant message. OpenAI itself accepts only 0 and 1 there.
"""

from app.exports.base import ExportFormat, ExportRow, chat_messages


def to_record(row: ExportRow) -> dict:
    messages = chat_messages(row)
    if row.weight is not None:
        messages[-1]["weight"] = row.weight
    return {"messages": messages}


FORMAT = ExportFormat(
    name="openai_chat",
    description="OpenAI chat fine-tuning (messages: system/user/assistant; weight on the answer where set)",
    keys=("messages",), to_record=to_record,
)
