"""Alpaca (`instruction`/`input`/`output`/`system`/`history`), as LLaMA-Factory and Axolotl read it.

Every line carries all five keys (`system` "" and `history` [] where a pair has none), so that a
LLaMA-Factory `dataset_info` or an Axolotl `alpaca_w_system` config naming them works for every
export, not only those that happen to hold a system prompt or earlier turns.

The whole prompt goes into `instruction` and `input` stays empty: the importer joins the two, so a
non-empty `input` could not be told apart on the way back. Earlier turns go into LLaMA-Factory's
`history` column ([[user, assistant], ...]); tool turns and weights have no place in Alpaca.
"""

from app.exports.base import ExportFormat, ExportRow, ExportRows, has_message_weights, has_tool_calls


def _history_pairs(history: list[dict]) -> list[list[str]]:
    pairs, pending_user = [], None
    for message in history:
        if message.get("role") == "user":
            pending_user = str(message.get("content", ""))
        elif message.get("role") == "assistant" and pending_user is not None:
            pairs.append([pending_user, str(message.get("content", ""))])
            pending_user = None
    return pairs


def to_record(row: ExportRow) -> dict:
    return {"instruction": row.input, "input": "", "output": row.output, "system": row.system or "",
            "history": _history_pairs(row.history or [])}


def not_carried(rows: ExportRows) -> list[str]:
    lost = []
    if has_message_weights(rows):
        lost.append("per-message weights")
    if has_tool_calls(rows):
        lost.append("tool calls and tool turns")
    return lost


FORMAT = ExportFormat(
    name="alpaca",
    description="Alpaca (instruction/input/output/system/history on every line)",
    keys=("instruction", "input", "output", "system", "history"),
    to_record=to_record,
    read_by=("LLaMA-Factory (formatting: alpaca)", "Axolotl (type: alpaca_w_system)",
             "datasets"),
    not_carried=not_carried,
)
