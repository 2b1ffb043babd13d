"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`.

Earlier turns keep their tool calls (TRL passes them to the chat template); TRL reads no weights.
"""

import json
from functools import partial

from app.exports.base import ExportFormat, ExportRow, ExportRows, conversation, has_message_weights


def to_record(row: ExportRow, tools: dict | None = None) -> dict:
    messages = conversation(row)
    for message in messages:
        message.pop("weight", None)
    record = {"messages": messages}
    if tools is not None:  # TRL's `tools` column, a JSON string (one Arrow type whatever the schemas hold)
        record["tools"] = json.dumps(tools[row.id], ensure_ascii=False) if row.id in tools else None
    return record


def make_encoder(rows: ExportRows):
    return partial(to_record, tools=rows.tools or None)


def not_carried(rows: ExportRows) -> list[str]:
    return ["per-message weights (TRL reads none)"] if has_message_weights(rows) else []


FORMAT = ExportFormat(
    name="trl_messages",
    description="TRL conversational (messages: system/user/assistant/tool)",
    keys=("messages",),
    to_record=to_record,
    make_encoder=make_encoder,
    optional_keys=("tools",),
    read_by=("TRL SFTTrainer (all tokens, or assistant_only_loss=True)", "datasets"),
    not_carried=not_carried,
)
