"""What every export format receives: the pairs, reduced to the fields a trainer line can carry."""

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from app.task_types import ALL_TASK_TYPES


class ExportRow(NamedTuple):
    """One pair, as a format's `to_record` sees it."""

    id: int
    system: str | None
    input: str
    output: str
    history: list[dict[str, Any]] | None
    label: str | None
    weight: float | None
    status: str
    input_hash: str
    rejected: str | None = None  # preference pairs: `output` is the chosen answer
    kto_label: bool | None = None  # unpaired KTO examples


# A record, or (kto) a list of records: one line each.
Encoder = Callable[[ExportRow], dict | list[dict]]


@dataclass(frozen=True)
class ExportFormat:
    """What an export format module declares, as its module-level `FORMAT`; app/exports/registry.py finds it.

    `to_record(row) -> dict` makes one line; a format whose line shape depends on the whole export
    (e.g. whether any pair has a system prompt) gives `make_encoder(rows) -> (row -> dict)` instead, so one
    file never mixes column types."""

    name: str
    description: str
    # The top-level keys of a plain pair's line (tests check a trainer's loader sees exactly these).
    keys: tuple[str, ...]
    to_record: Encoder
    make_encoder: "Callable[[ExportRows], Encoder] | None" = None
    # An SFT format on a preference dataset exports the chosen answers; a preference format needs one.
    task_types: frozenset[str] = ALL_TASK_TYPES
    # Keys every line gets once some pair needs them (e.g. `tools`), null where a pair has none.
    optional_keys: tuple[str, ...] = ()
    # The trainers and loaders that read this format as it is written (the manifest and README name them).
    read_by: tuple[str, ...] = ()
    # What of these pairs the format cannot express (the manifest says it), e.g. per-message weights.
    not_carried: "Callable[[ExportRows], list[str]] | None" = None
    # The target's own rules checked on the written lines: (lines, example ids, token counts per split,
    # tokenizer label) -> report with `passed` and `violations` (shown in the export answer).
    check_export: "Callable[..., dict] | None" = None
    # It writes chosen and rejected: unpaired KTO examples are left out (and counted).
    needs_pairs: bool = False

    def encoder(self, rows: "ExportRows") -> Encoder:
        return self.make_encoder(rows) if self.make_encoder else self.to_record


def picker(positions: Sequence[int]) -> Callable[[Sequence], tuple]:
    """A function returning (column[p] for every p) as a tuple, in one C call (itemgetter) instead of a
    Python loop; make it once and apply it to every column."""
    if len(positions) == 0:
        return lambda column: ()
    if len(positions) == 1:
        position = positions[0]
        return lambda column: (column[position],)
    return itemgetter(*positions)


def pick(column: Sequence, positions: Sequence[int]) -> tuple:
    """column[p] for every p."""
    return picker(positions)(column)


def positions_of(sorted_ids: np.ndarray, wanted, keep_missing: bool = False) -> np.ndarray:
    """Positions of the wanted ids in sorted_ids; ids not there are dropped, or -1 with keep_missing."""
    wanted = np.asarray(wanted, dtype=np.int64).reshape(-1)
    at = np.searchsorted(sorted_ids, wanted).clip(max=max(len(sorted_ids) - 1, 0))
    found = (sorted_ids[at] == wanted) if len(sorted_ids) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, at, -1) if keep_missing else at[found]


def row_positions(ids: np.ndarray, wanted) -> np.ndarray:
    """Row in `ids` (any order, unique) of each wanted id, -1 if absent."""
    order = np.argsort(ids, kind="stable")
    at = positions_of(ids[order], wanted, keep_missing=True)
    return np.where(at >= 0, order[np.clip(at, 0, None)], -1) if len(order) else at


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an export builds its columns.

    An export allocates a few hundred thousand tuples and lists (the driver's rows, the columns, the
    selections), none of them part of a cycle, and every 700 allocations the collector walks the young
    ones, and now and then the whole heap: a quarter of an export's time for nothing (see the export
    benchmark). Reference counting still frees everything; cycles made meanwhile wait until the end.
    If another thread paused it already, it stays paused and that thread resumes it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class ExportRows:
    """Many pairs, one sequence per field (the database's rows transposed): an export keeps 50,000
    pairs as nine sequences rather than 50,000 row objects, which is cheaper to build, select from
    and walk (see the export benchmark)."""

    ids: Sequence[int]
    systems: Sequence[str | None]
    inputs: Sequence[str]
    outputs: Sequence[str]
    histories: Sequence[list[dict[str, Any]] | None]
    labels: Sequence[str | None]
    weights: Sequence[float | None]
    statuses: Sequence[str]
    input_hashes: Sequence[str]
    rejecteds: Sequence[str | None]
    kto_labels: Sequence[bool | None]
    # OpenAI `tools` (function definitions) of the few pairs whose conversation calls tools, by pair id.
    tools: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence]) -> "ExportRows":
        """From rows of ExportRow's fields, in its order."""
        if not rows:
            return cls(*([()] * len(ExportRow._fields)))
        return cls(*zip(*rows))

    def columns(self) -> tuple[Sequence, ...]:
        return (self.ids, self.systems, self.inputs, self.outputs, self.histories, self.labels, self.weights,
                self.statuses, self.input_hashes, self.rejecteds, self.kto_labels)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[ExportRow]:
        return map(ExportRow._make, zip(*self.columns()))

    def row(self, i: int) -> ExportRow:
        return ExportRow._make(column[i] for column in self.columns())

    def take(self, positions: Sequence[int]) -> "ExportRows":
        """The pairs at these positions, in this order."""
        get = picker(positions)
        return ExportRows(*map(get, self.columns()), tools=self.tools)

    def is_plain(self, i: int) -> bool:
        """Only an input and an output: no system prompt, no earlier turns, no weight, no preference fields."""
        return (not self.systems[i] and not self.histories[i] and self.weights[i] is None
                and self.rejecteds[i] is None and self.kto_labels[i] is None)

    def all_plain(self) -> bool:
        n = len(self.ids)
        return (not any(self.systems) and not any(self.histories) and self.weights.count(None) == n
                and self.rejecteds.count(None) == n and self.kto_labels.count(None) == n)

    def is_preference(self) -> bool:
        return self.rejecteds.count(None) != len(self.ids) or self.kto_labels.count(None) != len(self.ids)


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


def prompt_messages(row: ExportRow) -> list[dict[str, str]]:
    """The conversation up to and including the final user turn, as messages."""
    return [{"role": role, "content": content} for role, content in chat_turns(row)[:-1]]


def chat_messages(row: ExportRow) -> list[dict[str, str]]:
    """chat_turns as OpenAI/TRL messages (role and content only)."""
    return [{"role": role, "content": content} for role, content in chat_turns(row)]


# What an earlier turn may carry besides role and content (kept by the importer, stored in `history`).
MESSAGE_EXTRAS = ("weight", "tool_calls", "tool_call_id", "name")


def trl_record(row: ExportRow, shape, tools: dict | None) -> dict:
    """A TRL line: `shape(messages)` gives its message columns (weights dropped: TRL reads none), plus TRL's
    `tools` column as a JSON string when the export has tools (one Arrow type whatever the schemas hold)."""
    messages = conversation(row)
    for message in messages:
        message.pop("weight", None)
    record = shape(messages)
    if tools is not None:
        record["tools"] = json.dumps(tools[row.id], ensure_ascii=False) if row.id in tools else None
    return record


def conversation(row: ExportRow) -> list[dict[str, Any]]:
    """The messages in order, each with role, content and what it carries of MESSAGE_EXTRAS: a weight
    (0/1) on an assistant turn, tool calls on an assistant turn, the call's id on a tool turn. The final
    answer carries the pair's weight where set."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": row.system}] if row.system else []
    for message in row.history or []:
        item = {"role": str(message.get("role", "user")), "content": str(message.get("content") or "")}
        item.update((key, message[key]) for key in MESSAGE_EXTRAS if message.get(key) is not None)
        messages.append(item)
    messages.append({"role": "user", "content": row.input})
    answer = {"role": "assistant", "content": row.output}
    if row.weight is not None:
        answer["weight"] = row.weight
    messages.append(answer)
    return messages


def has_message_weights(rows: ExportRows) -> bool:
    """Any pair with a weight, on its answer or on an earlier assistant turn."""
    return (rows.weights.count(None) != len(rows.weights)
            or any(m.get("weight") is not None for h in rows.histories if h for m in h))


def has_tool_calls(rows: ExportRows) -> bool:
    return any(m.get("tool_calls") or m.get("role") == "tool" for h in rows.histories if h for m in h)
