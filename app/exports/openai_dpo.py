"""OpenAI's DPO fine-tuning JSONL: `input.messages` (system, earlier turns, the user's turn),
`preferred_output` and `non_preferred_output`, each a list holding one assistant message. Only pairs
are written (an unpaired KTO example is left out and counted)."""

from app.exports.base import ExportRow, prompt_messages

NAME = "openai_dpo"
DESCRIPTION = "OpenAI DPO: input.messages / preferred_output / non_preferred_output"
KEYS = ("input", "preferred_output", "non_preferred_output")
TASK_TYPES = frozenset({"preference"})
NEEDS_PAIRS = True


def to_record(row: ExportRow) -> dict:
    return {"input": {"messages": prompt_messages(row)},
            "preferred_output": [{"role": "assistant", "content": row.output}],
            "non_preferred_output": [{"role": "assistant", "content": row.rejected}]}
