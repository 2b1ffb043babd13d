"""Alpaca: `{"instruction", "input"?, "output"}`, with LLaMA-Factory's optional `system` and `history`."""

from typing import Any

from app.importers.formats import FieldError, ImportFormat, pair, string_field, type_name


def map_alpaca(record: dict) -> dict:
    instruction = string_field(record, "instruction")
    extra = string_field(record, "input", required=False) or ""
    # Alpaca's optional `input` is context for the instruction: one prompt holds both.
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    return pair(string_field(record, "system", required=False), prompt, string_field(record, "output"),
                 _alpaca_history(record.get("history")))


def _alpaca_history(history: Any) -> list[dict] | None:
    """LLaMA-Factory's optional `history` column: earlier [instruction, response] pairs, oldest first."""
    if history is None:
        return None
    if not isinstance(history, list):
        raise FieldError("history", f"'history' must be an array of [instruction, response] pairs, "
                                    f"got {type_name(history)}")
    messages = []
    for i, turn in enumerate(history):
        if not (isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise FieldError(f"history[{i}]", "each history entry must be an [instruction, response] pair of strings")
        messages += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    return messages


FORMAT = ImportFormat(
    name="alpaca", description="Alpaca (instruction/input/output; optional system and history)",
    keys=frozenset({"instruction", "input", "output", "system", "history"}), to_pair=map_alpaca,
    recognises=lambda keys: "instruction" in keys, specificity=30, shape="instruction/output (alpaca)",
)
