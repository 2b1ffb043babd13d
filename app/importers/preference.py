"""What the preference import formats share: a pair of answers to one prompt, and a prompt found as the
shared beginning of two full dialogues (TRL's implicit prompt, Anthropic HH).

A preference record maps to one or more dicts with the fields of an SFT pair (`system`, `input` the last
user turn, `history` the turns before it, `output` the CHOSEN answer) plus `rejected` (the other answer,
None for unpaired KTO), `kto_label` (KTO only) and `id_suffix` (set when one record gives several pairs).
"""

from app.importers.formats import FieldError, ImportFormat, message_turns, string_field, type_name
from app.task_types import PREFERENCE_TASK_TYPES



def role_contents(messages: list, key: str) -> list[tuple[str, str]]:
    """(role, content) of each message. Tool calls and per-message weights are not kept on preference pairs:
    the preference is between the two final answers."""
    return [(role, content) for role, content, *_ in message_turns(messages, key)]


def preference_pair(prompt_turns: list[tuple[str, str]], chosen: str, rejected: str | None, *,
                    key: str = "prompt", kto_label: bool | None = None, id_suffix: str | None = None) -> dict:
    """A pair from the prompt's turns (leading system turns, then user/assistant turns ending with the user's)."""
    leading = 0
    while leading < len(prompt_turns) and prompt_turns[leading][0] == "system":
        leading += 1
    if leading == len(prompt_turns):
        raise FieldError(key, f"'{key}' has no user turn")
    role, input_text = prompt_turns[-1]
    if role != "user":
        raise FieldError(f"{key}[{len(prompt_turns) - 1}]", "the prompt must end with the user's turn")
    system = "\n\n".join(content for _, content in prompt_turns[:leading]) or None
    history = [{"role": r, "content": c} for r, c in prompt_turns[leading:-1]] or None
    return {"system": system, "input": input_text, "output": chosen, "history": history, "rejected": rejected,
            "kto_label": kto_label, "id_suffix": id_suffix}


def prompt_turns(record: dict, key: str = "prompt") -> list[tuple[str, str]]:
    """A prompt given as a string (one user turn, with the record's optional `system`) or as messages."""
    value = record.get(key)
    if isinstance(value, list):
        turns = role_contents(value, key)
        if not turns:
            raise FieldError(key, f"'{key}' is empty")
    else:
        turns = [("user", string_field(record, key))]
    system = string_field(record, "system", required=False)
    if system and turns[0][0] != "system":
        turns.insert(0, ("system", system))
    return turns


def answer_text(record: dict, key: str) -> str:
    """An answer given as a string or as a list holding one assistant message (TRL's conversational form)."""
    value = record.get(key)
    if isinstance(value, list):
        turns = role_contents(value, key)
        if len(turns) != 1 or turns[0][0] != "assistant":
            raise FieldError(key, f"'{key}' must hold exactly one message, the assistant's answer")
        return turns[0][1]
    return string_field(record, key)


def split_dialogues(chosen: list[tuple[str, str]], rejected: list[tuple[str, str]],
                    keys: tuple[str, str] = ("chosen", "rejected")) -> tuple[list[tuple[str, str]], str, str]:
    """(prompt turns, chosen answer, rejected answer) of two dialogues that share every turn but the last:
    the prompt is their longest shared beginning, after which each must have exactly one assistant turn."""
    for turns, key in zip((chosen, rejected), keys):
        if not turns:
            raise FieldError(key, f"'{key}' is empty")
        if turns[-1][0] != "assistant":
            raise FieldError(f"{key}[{len(turns) - 1}]", f"'{key}' must end with the assistant's answer")
    shared = 0
    limit = min(len(chosen), len(rejected)) - 1  # the last turn of each is its answer even if both are the same
    while shared < limit and chosen[shared] == rejected[shared]:
        shared += 1
    for turns, key in zip((chosen, rejected), keys):
        if len(turns) != shared + 1:
            raise FieldError(f"{key}[{shared}]", "the two dialogues differ before their last turn: they must share "
                                                 "every turn up to the final assistant answer")
    return chosen[:shared], chosen[-1][1], rejected[-1][1]


def split_strings(chosen: str, rejected: str) -> tuple[str, str, str]:
    """TRL's implicit prompt in plain strings: the longest shared beginning, cut back to a whitespace so
    no word is split (as trl.extract_prompt does), stripped of the separating spaces."""
    shared = 0
    limit = min(len(chosen), len(rejected))
    while shared < limit and chosen[shared] == rejected[shared]:
        shared += 1
    if shared < len(chosen) or shared < len(rejected):
        while shared > 0 and not chosen[shared - 1].isspace() and not (
                shared < len(chosen) and chosen[shared].isspace()):
            shared -= 1
    prompt = chosen[:shared].strip()
    if not prompt:
        raise FieldError("prompt", "no 'prompt', and chosen and rejected share no beginning to take it from")
    return prompt, chosen[shared:].strip(), rejected[shared:].strip()


def boolean(record: dict, key: str) -> bool:
    value = record.get(key)
    if not isinstance(value, bool):
        raise FieldError(key, f"'{key}' must be true or false, got {type_name(value)}")
    return value


def preference_format(name: str, description: str, keys: set[str], recognises, to_pairs, specificity: int,
                      shape: str) -> ImportFormat:
    """The declaration of a preference format: `to_pairs(record, options)` makes its pairs."""
    return ImportFormat(name=name, description=description, keys=frozenset(keys),
                        to_pair=lambda record: to_pairs(record, {})[0], recognises=recognises,
                        specificity=specificity, shape=shape, task_types=PREFERENCE_TASK_TYPES, to_pairs=to_pairs)
