"""OpenAI chat / TRL conversational: `{"messages": [{"role", "content"}, ...]}`."""

from app.importers.formats import FieldError, ImportFormat, message_turns, turns_to_pair, type_name


def map_messages(record: dict) -> dict:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise FieldError("messages", f"'messages' must be an array, got {type_name(messages)}")
    return turns_to_pair(message_turns(messages, "messages"), "messages")


FORMAT = ImportFormat(
    name="messages", description="messages (OpenAI chat, TRL conversational)", keys=frozenset({"messages"}),
    to_pair=map_messages, recognises=lambda keys: "messages" in keys, specificity=50, shape="messages",
)
