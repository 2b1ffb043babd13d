"""What every export format receives: one pair, reduced to the fields a trainer line can carry."""

from typing import Any, NamedTuple


class ExportRow(NamedTuple):
    """A named tuple, not a dataclass: built straight from database rows with `_make`, 50,000 at a time."""

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


def chat_messages(row: ExportRow) -> list[dict[str, str]]:
    """chat_turns as OpenAI/TRL messages; plain pairs (the common case) take a short path."""
    if not row.system and not row.history:
        return [{"role": "user", "content": row.input}, {"role": "assistant", "content": row.output}]
    return [{"role": role, "content": content} for role, content in chat_turns(row)]
