"""Alpaca (`instruction`/`input`/`output`), as LLaMA-Factory and Axolotl read it.

The whole prompt goes into `instruction` and `input` stays empty: the importer joins the two, so a
non-empty `input` could not be told apart on the way back. A system prompt goes into LLaMA-Factory's
optional `system` column and earlier turns into its `history` column ([[user, assistant], ...]),
but only when the export has any, so that plain pairs carry exactly the three Alpaca keys.
"""

from app.exports.base import ExportFormat, ExportRow, ExportRows


def _history_pairs(history: list[dict]) -> list[list[str]]:
    pairs, pending_user = [], None
    for message in history:
        if message.get("role") == "user":
            pending_user = str(message.get("content", ""))
        elif message.get("role") == "assistant" and pending_user is not None:
            pairs.append([pending_user, str(message.get("content", ""))])
            pending_user = None
    return pairs


def to_record(row: ExportRow, with_system: bool = False, with_history: bool = False) -> dict:
    record = {"instruction": row.input, "input": "", "output": row.output}
    if with_system:
        record["system"] = row.system or ""
    if with_history:
        record["history"] = _history_pairs(row.history or [])
    return record


def make_encoder(rows: ExportRows):
    with_system = any(rows.systems)
    with_history = any(rows.histories)
    return lambda row: to_record(row, with_system, with_history)


FORMAT = ExportFormat(
    name="alpaca", description="Alpaca (instruction/input/output; system and history columns only when present)",
    keys=("instruction", "input", "output"), to_record=to_record, make_encoder=make_encoder,
)
