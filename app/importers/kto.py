"""KTO's unpaired preference data: `prompt`, `completion` and `label` (true: a desirable completion,
false: an undesirable one), standard strings or conversational message lists as in TRL.

Told apart from an SFT prompt/completion record by its `label` being a JSON boolean.
"""

from app.importers.preference import PREFERENCE_TASK_TYPES, answer_text, boolean, preference_pair, prompt_turns

NAME = "kto"
DESCRIPTION = "KTO unpaired: prompt/completion/label (true or false)"
TASK_TYPES = PREFERENCE_TASK_TYPES
KEYS = {"prompt", "completion", "label", "system"}


def recognises(record: dict) -> bool:
    return "prompt" in record and "completion" in record and isinstance(record.get("label"), bool)


def to_pairs(record: dict, options: dict) -> list[dict]:
    return [preference_pair(prompt_turns(record), answer_text(record, "completion"), None,
                            kto_label=boolean(record, "label"))]
