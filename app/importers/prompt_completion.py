"""TRL prompt-completion: `{"prompt", "completion"}` as strings, or as message lists (conversational)."""

from app.importers.formats import (
    FieldError, ImportFormat, message_turns, pair, string_field, turns_to_pair, type_name,
)


def map_prompt_completion(record: dict) -> dict:
    if isinstance(record.get("prompt"), list):
        return _map_conversational_prompt_completion(record)
    return pair(string_field(record, "system", required=False), string_field(record, "prompt"), string_field(record, "completion"))


def _map_conversational_prompt_completion(record: dict) -> dict:
    """TRL's conversational prompt-completion: `prompt` the messages up to the user's turn, `completion`
    the assistant's answer as a one-message list."""
    if not isinstance(record.get("completion"), list):
        raise FieldError("completion", "'completion' must be an array of messages, as 'prompt' is, "
                                       f"got {type_name(record.get('completion'))}")
    prompt = message_turns(record["prompt"], "prompt")
    completion = message_turns(record["completion"], "completion")
    if len(completion) != 1 or completion[0][0] != "assistant":
        raise FieldError("completion", "'completion' must hold exactly one message, the assistant's answer")
    if not prompt:
        raise FieldError("prompt", "'prompt' is empty")
    if prompt[-1][0] != "user":
        raise FieldError(f"prompt[{len(prompt) - 1}]", "the last message of the prompt must be the user's")
    system = string_field(record, "system", required=False)
    if system:
        prompt.insert(0, ("system", system, {}))
    return turns_to_pair(prompt + completion, "prompt")


FORMAT = ImportFormat(
    name="prompt_completion", description="prompt/completion (TRL; strings or message lists)",
    keys=frozenset({"prompt", "completion", "system"}), to_pair=map_prompt_completion,
    recognises=lambda keys: "prompt" in keys and "completion" in keys, specificity=20, shape="prompt/completion",
)
