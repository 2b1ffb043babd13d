"""What every export format receives: the pairs, reduced to the fields a trainer line can carry."""

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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


Encoder = Callable[[ExportRow], dict]


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
    task_types: frozenset[str] = ALL_TASK_TYPES

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

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence]) -> "ExportRows":
        """From rows of the nine fields, in ExportRow's order."""
        if not rows:
            return cls(*([()] * len(ExportRow._fields)))
        return cls(*zip(*rows))

    def columns(self) -> tuple[Sequence, ...]:
        return (self.ids, self.systems, self.inputs, self.outputs, self.histories, self.labels, self.weights,
                self.statuses, self.input_hashes)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[ExportRow]:
        return map(ExportRow._make, zip(*self.columns()))

    def row(self, i: int) -> ExportRow:
        return ExportRow._make(column[i] for column in self.columns())

    def take(self, positions: Sequence[int]) -> "ExportRows":
        """The pairs at these positions, in this order."""
        get = picker(positions)
        return ExportRows(*map(get, self.columns()))

    def is_plain(self, i: int) -> bool:
        """Only an input and an output: no system prompt, no earlier turns, no weight."""
        return not self.systems[i] and not self.histories[i] and self.weights[i] is None

    def all_plain(self) -> bool:
        return not any(self.systems) and not any(self.histories) and self.weights.count(None) == len(self.weights)


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
    """chat_turns as OpenAI/TRL messages."""
    return [{"role": role, "content": content} for role, content in chat_turns(row)]
