"""ShareGPT: `{"conversations": [{"from": "system"|"human"|"gpt"|..., "value": ...}, ...]}`.

Roles are ShareGPT's own (`human`/`gpt`), which LLaMA-Factory (`formatting: sharegpt`) and Axolotl
(`type: chat_template` with `field_messages: conversations`, `message_property_mappings`) read; TRL reads
`role`/`content` messages, so TRL users take trl_messages. Tool turns use LLaMA-Factory's names: an
assistant's call is a `function_call` turn (the call as JSON), the result an `observation` turn.
"""

import json

from app.exports.base import ExportFormat, ExportRow, ExportRows, conversation, has_message_weights, has_tool_calls

SPEAKER = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


def _turn(message: dict) -> dict:
    calls = message.get("tool_calls")
    if not calls:
        return {"from": SPEAKER.get(message["role"], message["role"]), "value": message["content"]}
    # LLaMA-Factory: the call takes the assistant's place (one object, or a list for parallel calls);
    # text said beside a call has no place there.
    named = [{"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"] or "{}")} for c in calls]
    return {"from": "function_call", "value": json.dumps(named[0] if len(named) == 1 else named, ensure_ascii=False)}


def to_record(row: ExportRow) -> dict:
    return {"conversations": [_turn(message) for message in conversation(row)]}


def not_carried(rows: ExportRows) -> list[str]:
    lost = ["per-message weights"] if has_message_weights(rows) else []
    if has_tool_calls(rows):
        lost.append("tool call ids and any text an assistant said beside a tool call")
    return lost


FORMAT = ExportFormat(
    name="sharegpt",
    description="ShareGPT (conversations with from system/human/gpt and value; for LLaMA-Factory and Axolotl)",
    keys=("conversations",),
    to_record=to_record,
    read_by=("LLaMA-Factory (formatting: sharegpt)", "Axolotl (type: chat_template)", "datasets"),
    not_carried=not_carried,
)
