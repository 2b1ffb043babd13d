"""TRL preference dataset: `{"prompt": ..., "chosen": ..., "rejected": ...}` (DPOTrainer, ORPOTrainer, ...).

Plain strings when no exported pair has a system prompt or earlier turns; otherwise TRL's conversational
form for every line: `prompt` the messages up to the user's turn, `chosen` and `rejected` each a list
holding one assistant message (one schema per file, as `datasets` needs). Only pairs are written: an
unpaired KTO example has no rejected side (the export leaves it out and counts it).
"""

from app.exports.base import ExportFormat, ExportRow, ExportRows, prompt_messages
from app.task_types import PREFERENCE_TASK_TYPES


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


FORMAT = ExportFormat(
    name="trl_preference",
    description="TRL preference: prompt/chosen/rejected (strings; message lists when system prompts or history exist)",
    keys=("prompt", "chosen", "rejected"), to_record=to_record, make_encoder=make_encoder,
    read_by=("TRL DPOTrainer (tested: one step, standard and conversational)", "TRL ORPOTrainer / CPOTrainer",
             "datasets"),
    task_types=PREFERENCE_TASK_TYPES, needs_pairs=True,
)
