"""OpenAI chat / TRL conversational: `{"messages": [{"role", "content"}, ...]}`; earlier turns keep their
0/1 weights and tool calls, the final answer's weight is the pair's."""

from app.importers.formats import FieldError, ImportFormat, message_turns, turns_to_pair, type_name


def map_messages(record: dict) -> dict:
    messages = record.get("messages")
    if not isinstance(messages, list):
        raise FieldError("messages", f"'messages' must be an array, got {type_name(messages)}")
    tools = record.get("tools")  # OpenAI's function definitions: kept in metadata, exported beside the calls
    if tools is not None and not (isinstance(tools, list) and all(isinstance(t, dict) for t in tools)):
        raise FieldError("tools", f"'tools' must be an array of objects, got {type_name(tools)}")
    return turns_to_pair(message_turns(messages, "messages"), "messages")


FORMAT = ImportFormat(
    name="messages", description="messages (OpenAI chat, TRL conversational)", keys=frozenset({"messages"}),
    to_pair=map_messages, recognises=lambda keys: "messages" in keys, specificity=50, shape="messages",
)
