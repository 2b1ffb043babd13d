"""TRL preference dataset: `{"prompt": ..., "chosen": ..., "rejected": ...}` (DPOTrainer, ORPOTrainer, ...).

Plain strings when no exported pair has a system prompt or earlier turns; otherwise TRL's conversational
form for every line: `prompt` the messages up to the user's turn, `chosen` and `rejected` each a list
holding one assistant message (one schema per file, as `datasets` needs). Only pairs are written: an
unpaired KTO example has no rejected side (the export leaves it out and counts it).
"""

from app.exports.base import ExportRow, ExportRows, prompt_messages

NAME = "trl_preference"
DESCRIPTION = "TRL preference: prompt/chosen/rejected (strings; message lists when system prompts or history exist)"
KEYS = ("prompt", "chosen", "rejected")
TASK_TYPES = frozenset({"preference"})
NEEDS_PAIRS = True


def needs_conversational(rows: ExportRows) -> bool:
    return any(rows.systems) or any(rows.histories)


def to_record(row: ExportRow, conversational: bool = False) -> dict:
    if not conversational:
        return {"prompt": row.input, "chosen": row.output, "rejected": row.rejected}
    return {"prompt": prompt_messages(row), "chosen": [{"role": "assistant", "content": row.output}],
            "rejected": [{"role": "assistant", "content": row.rejected}]}


def make_encoder(rows: ExportRows):
    conversational = needs_conversational(rows)
    return lambda row: to_record(row, conversational)
