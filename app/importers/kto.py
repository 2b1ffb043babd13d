"""KTO's unpaired preference data: `prompt`, `completion` and `label` (true: a desirable completion,
false: an undesirable one), standard strings or conversational message lists as in TRL.

Told apart from an SFT prompt/completion record by its `label` being a JSON boolean.
"""

from app.importers.preference import answer_text, boolean, preference_format, preference_pair, prompt_turns

KEYS = {"prompt", "completion", "label", "system"}


def recognises(record) -> bool:
    """prompt/completion with a boolean `label`: only the record itself tells (a set of keys does not)."""
    return (isinstance(record, dict) and "prompt" in record and "completion" in record
            and isinstance(record.get("label"), bool))


def to_pairs(record: dict, options: dict) -> list[dict]:
    return [preference_pair(prompt_turns(record), answer_text(record, "completion"), None,
                            kto_label=boolean(record, "label"))]


FORMAT = preference_format(
    "kto", "KTO unpaired: prompt/completion/label (true or false)", KEYS,
    recognises, to_pairs, specificity=60, shape="prompt/completion/label true|false (kto)",
)
