"""KTO's unpaired preference data (TRL KTOTrainer): `{"prompt": ..., "completion": ..., "label": true|false}`.

A pair gives two lines, its chosen answer labelled true and its rejected one false; an unpaired KTO
example gives one line with its own label. Strings, or TRL's conversational form for every line when
any pair has a system prompt or earlier turns. Both lines of a pair land in the same split.
"""

from app.exports.base import ExportFormat, ExportRow, ExportRows, prompt_messages
from app.task_types import PREFERENCE_TASK_TYPES


def _line(row: ExportRow, completion: str, label: bool, conversational: bool) -> dict:
    if not conversational:
        return {"prompt": row.input, "completion": completion, "label": label}
    return {"prompt": prompt_messages(row), "completion": [{"role": "assistant", "content": completion}],
            "label": label}


def to_record(row: ExportRow, conversational: bool = False) -> list[dict]:
    if row.rejected is not None:
        return [_line(row, row.output, True, conversational), _line(row, row.rejected, False, conversational)]
    return [_line(row, row.output, True if row.kto_label is None else bool(row.kto_label), conversational)]


def make_encoder(rows: ExportRows):
    conversational = any(rows.systems) or any(rows.histories)
    return lambda row: to_record(row, conversational)


FORMAT = ExportFormat(
    name="kto", description="KTO unpaired: prompt/completion/label (a pair gives a true and a false line)",
    keys=("prompt", "completion", "label"), to_record=to_record, make_encoder=make_encoder,
    read_by=("TRL KTOTrainer", "datasets"),
    task_types=PREFERENCE_TASK_TYPES, needs_pairs=False,
)
