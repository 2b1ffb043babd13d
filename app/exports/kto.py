"""KTO's unpaired preference data (TRL KTOTrainer): `{"prompt": ..., "completion": ..., "label": true|false}`.

A pair gives two lines, its chosen answer labelled true and its rejected one false; an unpaired KTO
example gives one line with its own label. Strings, or TRL's conversational form for every line when
any pair has a system prompt or earlier turns. Both lines of a pair land in the same split.
"""

from app.exports.base import ExportRow, ExportRows, prompt_messages

NAME = "kto"
DESCRIPTION = "KTO unpaired: prompt/completion/label (a pair gives a true and a false line)"
KEYS = ("prompt", "completion", "label")
TASK_TYPES = frozenset({"preference"})
NEEDS_PAIRS = False


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
