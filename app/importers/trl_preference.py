"""TRL preference: `prompt`/`chosen`/`rejected`, standard (strings) or conversational (message lists), with
the prompt explicit, or implicit as the shared beginning of `chosen` and `rejected`.

Explicit: `{"prompt": "2+2?", "chosen": "4", "rejected": "5"}`, or with message lists,
`{"prompt": [{"role": "user", ...}], "chosen": [{"role": "assistant", ...}], "rejected": [...]}`.
Implicit: `{"chosen": [user, assistant], "rejected": [user, other assistant]}`; in plain strings the prompt
is their shared beginning cut back to a whitespace (as `trl.extract_prompt` does).
"""

from app.importers.formats import FieldError, string_field
from app.importers.preference import (answer_text, preference_format, preference_pair, prompt_turns,
                                      role_contents, split_dialogues, split_strings)

KEYS = {"prompt", "chosen", "rejected", "system"}


def recognises(record: dict) -> bool:
    """`chosen` and `rejected`, unless they are Anthropic HH dialogues in plain text (the `hh` format)."""
    if "chosen" not in record or "rejected" not in record:
        return False
    from app.importers.hh import looks_like_hh

    return "prompt" in record or not looks_like_hh(record)


def to_pairs(record: dict, options: dict) -> list[dict]:
    if "prompt" in record and record["prompt"] is not None:
        return [preference_pair(prompt_turns(record), answer_text(record, "chosen"), answer_text(record, "rejected"))]
    chosen, rejected = record.get("chosen"), record.get("rejected")
    if isinstance(chosen, list) or isinstance(rejected, list):
        for key, value in (("chosen", chosen), ("rejected", rejected)):
            if not isinstance(value, list):
                raise FieldError(key, f"'{key}' must be a list of messages, as the other side is")
        prompt, chosen_text, rejected_text = split_dialogues(role_contents(chosen, "chosen"),
                                                             role_contents(rejected, "rejected"))
        turns = list(prompt)
        system = string_field(record, "system", required=False)
        if system and (not turns or turns[0][0] != "system"):
            turns.insert(0, ("system", system))
        if not turns:
            raise FieldError("chosen[0]", "the dialogues share no prompt: they must start with the same user turn")
        return [preference_pair(turns, chosen_text, rejected_text, key="chosen")]
    prompt, chosen_text, rejected_text = split_strings(string_field(record, "chosen"), string_field(record, "rejected"))
    system = string_field(record, "system", required=False)
    return [preference_pair(([("system", system)] if system else []) + [("user", prompt)], chosen_text, rejected_text)]


FORMAT = preference_format(
    "trl_preference", "TRL preference: prompt/chosen/rejected (strings or messages; prompt explicit or implicit)", KEYS,
    recognises, to_pairs, specificity=60, shape="prompt/chosen/rejected (trl_preference)",
)
