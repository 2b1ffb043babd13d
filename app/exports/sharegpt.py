"""ShareGPT: `{"conversations": [{"from": "system"|"human"|"gpt", "value": ...}, ...]}`."""

from app.exports.base import ExportFormat, ExportRow, chat_turns

# Tool turns use LLaMA-Factory's name for them.
SPEAKER = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


def to_record(row: ExportRow) -> dict:
    return {"conversations": [{"from": SPEAKER.get(role, role), "value": content}
                              for role, content in chat_turns(row)]}


FORMAT = ExportFormat(name="sharegpt", description="ShareGPT (conversations with from system/human/gpt and value)",
                      keys=("conversations",), to_record=to_record)
