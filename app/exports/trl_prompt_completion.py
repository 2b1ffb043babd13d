"""TRL prompt-completion dataset: `{"prompt": ..., "completion": ...}`.

Plain strings when no exported pair has a system prompt or earlier turns. Otherwise TRL's
conversational prompt-completion form (lists of messages) for every line, so that nothing is
dropped and every line of the file has the same column types (`datasets` needs one schema).
"""

from app.exports.base import ExportFormat, ExportRow, ExportRows, chat_turns


def needs_conversational(rows: ExportRows) -> bool:
    return any(rows.systems) or any(rows.histories)


def to_record(row: ExportRow, conversational: bool = False) -> dict:
    if not conversational:
        return {"prompt": row.input, "completion": row.output}
    turns = [{"role": role, "content": content} for role, content in chat_turns(row)]
    return {"prompt": turns[:-1], "completion": turns[-1:]}


def make_encoder(rows: ExportRows):
    conversational = needs_conversational(rows)
    return lambda row: to_record(row, conversational)


FORMAT = ExportFormat(
    name="trl_prompt_completion",
    description="TRL prompt/completion (strings; message lists when system prompts or history exist)",
    keys=("prompt", "completion"), to_record=to_record, make_encoder=make_encoder,
)
