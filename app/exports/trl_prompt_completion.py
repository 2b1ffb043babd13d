"""TRL prompt-completion dataset, always in TRL's conversational form:
`{"prompt": [messages up to the user's turn], "completion": [{"role": "assistant", ...}]}`.

Why conversational and never plain strings: TRL tokenizes the prompt alone and prompt + completion,
and trains on what follows the prompt's tokens. Two plain strings joined with no boundary let a BPE
tokenizer merge tokens across the join, so the prompt's tokens are no prefix of the whole (TRL warned
on 1,023 of 1,141 lines with cl100k) and the first completion tokens are trained on the wrong context.
In the conversational form TRL renders both through the model's chat template, whose role markers
are a clean boundary, and the file has one schema whatever the pairs hold. Earlier turns keep their
tool calls; per-message weights are not read by TRL (the manifest says what is lost).
"""

from functools import partial

from app.exports.base import ExportFormat, ExportRow, ExportRows, has_message_weights, trl_record


def to_record(row: ExportRow, tools: dict | None = None) -> dict:
    return trl_record(row, lambda messages: {"prompt": messages[:-1], "completion": messages[-1:]}, tools)


def make_encoder(rows: ExportRows):
    return partial(to_record, tools=rows.tools or None)


def not_carried(rows: ExportRows) -> list[str]:
    return ["per-message weights (TRL trains on the whole completion)"] if has_message_weights(rows) else []


FORMAT = ExportFormat(
    name="trl_prompt_completion",
    description="TRL prompt/completion, conversational (prompt: messages up to the user's turn; completion: the answer)",
    keys=("prompt", "completion"),
    to_record=to_record,
    make_encoder=make_encoder,
    optional_keys=("tools",),
    read_by=("TRL SFTTrainer (trains on the completion only by default)", "datasets"),
    not_carried=not_carried,
)
