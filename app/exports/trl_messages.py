"""TRL conversational dataset (`SFTTrainer` applies the chat template): `{"messages": [...]}`.

Earlier turns keep their tool calls (TRL passes them to the chat template); TRL reads no weights.
"""

from functools import partial

from app.exports.base import ExportFormat, ExportRow, ExportRows, has_message_weights, trl_record


def to_record(row: ExportRow, tools: dict | None = None) -> dict:
    return trl_record(row, lambda messages: {"messages": messages}, tools)


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
