"""OpenAI's DPO fine-tuning JSONL: `input.messages` (the conversation up to the user's turn),
`preferred_output` and `non_preferred_output` (each a list holding one assistant message).

`input.tools` and `input.parallel_tool_calls`, when given, are kept in the pair's metadata.
"""

from app.importers.formats import FieldError, type_name
from app.importers.preference import answer_text, preference_format, preference_pair, role_contents

KEYS = {"input", "preferred_output", "non_preferred_output"}


def recognises(record: dict) -> bool:
    return "preferred_output" in record and "non_preferred_output" in record


def to_pairs(record: dict, options: dict) -> list[dict]:
    conversation = record.get("input")
    if not isinstance(conversation, dict):
        raise FieldError("input", f"'input' must be an object with 'messages', got {type_name(conversation)}")
    messages = conversation.get("messages")
    if not isinstance(messages, list):
        raise FieldError("input.messages", f"'input.messages' must be an array, got {type_name(messages)}")
    turns = role_contents(messages, "input.messages")
    if not turns:
        raise FieldError("input.messages", "'input.messages' is empty")
    pair = preference_pair(turns, answer_text(record, "preferred_output"), answer_text(record, "non_preferred_output"),
                           key="input.messages")
    extra = {k: v for k, v in conversation.items() if k != "messages"}
    if extra:
        pair["metadata"] = {"input": extra}
    return [pair]


FORMAT = preference_format(
    "openai_dpo", "OpenAI DPO: input.messages / preferred_output / non_preferred_output", KEYS,
    recognises, to_pairs, specificity=70, shape="preferred_output/non_preferred_output (openai_dpo)",
)
