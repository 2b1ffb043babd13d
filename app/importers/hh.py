"""Anthropic HH-RLHF: `chosen` and `rejected` are two whole dialogues in plain text
("\\n\\nHuman: ...\\n\\nAssistant: ..."), identical up to the final assistant answer. The shared turns are
the prompt (the last Human turn its input, the earlier ones its history); the last turns are the answers.
"""

import re

from app.importers.formats import FieldError, string_field
from app.importers.preference import preference_format, preference_pair, split_dialogues

KEYS = {"chosen", "rejected"}

_SPEAKER = re.compile(r"(?:^|\n\n)(Human|Assistant):[ \t]?")
_ROLES = {"Human": "user", "Assistant": "assistant"}


def looks_like_hh(record) -> bool:
    chosen = record.get("chosen") if isinstance(record, dict) else None
    return isinstance(chosen, str) and chosen.lstrip("\n").startswith("Human:") and "\n\nAssistant:" in chosen


def recognises(record: dict) -> bool:
    return "prompt" not in record and "rejected" in record and looks_like_hh(record)


def dialogue_turns(text: str, key: str) -> list[tuple[str, str]]:
    """(role, content) of each 'Human:'/'Assistant:' turn; text before the first marker is an error."""
    parts = _SPEAKER.split(text.lstrip("\n"))
    if parts[0].strip():
        raise FieldError(key, f"'{key}' must start with 'Human:'")
    return [(_ROLES[speaker], content.strip()) for speaker, content in zip(parts[1::2], parts[2::2])]


def to_pairs(record: dict, options: dict) -> list[dict]:
    chosen = dialogue_turns(string_field(record, "chosen"), "chosen")
    rejected = dialogue_turns(string_field(record, "rejected"), "rejected")
    prompt, chosen_text, rejected_text = split_dialogues(chosen, rejected)
    if not prompt:
        raise FieldError("chosen", "the dialogues share no 'Human:' turn before the answers")
    return [preference_pair(prompt, chosen_text, rejected_text, key="chosen")]


FORMAT = preference_format(
    "hh", "Anthropic HH: two full Human:/Assistant: dialogues, split at their shared prefix", KEYS,
    recognises, to_pairs, specificity=65, shape="chosen/rejected Human:/Assistant: dialogues (hh)",
)
