"""OpenAI's DPO fine-tuning JSONL: `input.messages` (system, earlier turns, the user's turn),
`preferred_output` and `non_preferred_output`, each a list holding one assistant message. Only pairs
are written (an unpaired KTO example is left out and counted)."""

from app.exports.base import ExportFormat, ExportRow, prompt_messages
from app.task_types import PREFERENCE_TASK_TYPES


def to_record(row: ExportRow) -> dict:
    return {"input": {"messages": prompt_messages(row)},
            "preferred_output": [{"role": "assistant", "content": row.output}],
            "non_preferred_output": [{"role": "assistant", "content": row.rejected}]}


FORMAT = ExportFormat(
    name="openai_dpo", description="OpenAI DPO: input.messages / preferred_output / non_preferred_output",
    keys=("input", "preferred_output", "non_preferred_output"), to_record=to_record,
    read_by=("OpenAI fine-tuning (method: dpo)", "datasets"),
    task_types=PREFERENCE_TASK_TYPES, needs_pairs=True,
)
