"""What every export format receives: one pair, reduced to the fields a trainer line can carry."""

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ExportRow:
    id: int
    system: str | None
    input: str
    output: str
    history: list[dict[str, Any]] | None
    label: str | None
    weight: float | None
    status: str
    input_hash: str


def chat_turns(row: ExportRow) -> list[tuple[str, str]]:
    """(role, content) in conversation order: system, the earlier turns, the final user turn, the answer."""
    turns: list[tuple[str, str]] = []
    if row.system:
        turns.append(("system", row.system))
    for message in row.history or []:
        turns.append((str(message.get("role", "user")), str(message.get("content", ""))))
    turns.append(("user", row.input))
    turns.append(("assistant", row.output))
    return turns
