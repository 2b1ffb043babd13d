"""Export formats (one module each) and split logic.

Every format module declares NAME, DESCRIPTION, KEYS and `to_record(row) -> dict`; a format whose
line shape depends on the whole export (e.g. whether any pair has a system prompt) also declares
`make_encoder(rows) -> (row -> dict)`, so one file never mixes column types.

Contract the writer relies on (`app.exports.files.encode_lines`): for a plain pair (no system prompt,
history or weight) the record depends on the input and the output only as strings placed verbatim.
The writer encodes such pairs from a line template read off the encoder's record for marker texts
(none if the markers do not appear once each, input first; then every pair goes through the encoder);
tests/exports/test_formats.py checks that both ways give the same bytes for every format.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from app.exports import (alpaca, kto, openai_chat, openai_dpo, sharegpt, trl_messages, trl_preference,
                         trl_prompt_completion)
from app.exports.base import ExportRow, ExportRows

Encoder = Callable[[ExportRow], dict]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    description: str
    keys: tuple[str, ...]
    module: ModuleType

    @property
    def task_types(self) -> frozenset[str] | None:
        """The dataset task types it exports (None: any; an SFT format exports a preference set's chosen answers)."""
        return getattr(self.module, "TASK_TYPES", None)

    @property
    def needs_pairs(self) -> bool:
        """It writes chosen and rejected: unpaired KTO examples are left out."""
        return getattr(self.module, "NEEDS_PAIRS", False)

    def encoder(self, rows: ExportRows) -> Encoder:
        make = getattr(self.module, "make_encoder", None)
        return make(rows) if make else self.module.to_record


FORMATS: dict[str, ExportFormat] = {
    m.NAME: ExportFormat(m.NAME, m.DESCRIPTION, m.KEYS, m)
    for m in (openai_chat, trl_messages, trl_prompt_completion, alpaca, sharegpt, trl_preference, openai_dpo, kto)
}
DEFAULT_FORMAT = "openai_chat"

__all__ = ["DEFAULT_FORMAT", "FORMATS", "ExportFormat", "ExportRow", "ExportRows"]
