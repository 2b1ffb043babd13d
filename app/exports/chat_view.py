"""What a trainer will see of one pair: the conversation rendered with the target model's chat template,
cut into that tokenizer's tokens, each marked trained or not (as Axolotl's `--debug` prints it).

Which tokens are trained depends on the trainer's setting, named by a mode:
- `assistant`: every assistant turn whose weight is not 0 (OpenAI; LLaMA-Factory and Axolotl defaults);
- `completion`: the final answer only (TRL with prompt/completion data);
- `all`: every token (TRL with messages, unless `assistant_only_loss=True`).
A turn's span is found by rendering the conversation up to it: the text the template adds between the
prompt (with the generation prompt) and the end of the turn is what the trainer learns from.
"""

from dataclasses import dataclass, field
from typing import Any

from app.exports.base import ExportRow, conversation
from app.embeddings.target_tokenizer import TargetTokenizer

MODES = ("assistant", "completion", "all")
# Each export format's trainer default (see the module docstring).
FORMAT_MODE = {"openai_chat": "assistant", "trl_messages": "all", "trl_prompt_completion": "completion",
               "alpaca": "assistant", "sharegpt": "assistant"}
# For a tokenizer without a chat template (tiktoken's encodings, MiniLM): the ChatML layout, an approximation.
CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
          "{% if message['content'] %}{{ message['content'] }}{% endif %}"
          "{% if message['tool_calls'] %}{{ message['tool_calls'] | tojson }}{% endif %}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
MAX_TOKENS_SHOWN = 4000


@dataclass
class TrainingView:
    mode: str
    template: str  # where the chat template came from
    tokenizer: str
    tokens: list[tuple[str, bool]] = field(default_factory=list)  # (text, trained)
    total: int = 0
    trained: int = 0
    truncated: bool = False
    note: str | None = None


def _render(template: str, messages: list[dict], tools: list | None, generation_prompt: bool,
            special: dict[str, str]) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template([messages], tools=tools, chat_template=template,
                                        add_generation_prompt=generation_prompt, **special)
    return rendered[0]


def _trained_turns(messages: list[dict[str, Any]], mode: str) -> list[int]:
    assistant = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if mode == "completion":
        return assistant[-1:]
    return [i for i in assistant if m_weight(messages[i]) != 0]


def m_weight(message: dict) -> float:
    weight = message.get("weight")
    return 1 if weight is None else weight


def _token_spans(tokenizer: TargetTokenizer, text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each token of the rendered text, special tokens recognised."""
    backend = tokenizer._backend
    if tokenizer.name in ("o200k_base", "cl100k_base"):
        ids = backend.encode(text, allowed_special="all")
        _, starts = backend.decode_with_offsets(ids)
        return list(zip(starts, [*starts[1:], len(text)]))
    return list(backend.encode(text, add_special_tokens=False).offsets)


def training_view(row: ExportRow, tokenizer: TargetTokenizer, mode: str, tools: list | None = None) -> TrainingView:
    messages = conversation(row)
    template = tokenizer.chat_template()
    source = "the tokenizer's own chat template"
    if not template:
        template, source = CHATML, "ChatML (the tokenizer has no chat template: an approximation)"
    special = tokenizer.special_tokens()
    view = TrainingView(mode=mode, template=source, tokenizer=tokenizer.label)
    clean = [{k: v for k, v in m.items() if k != "weight"} for m in messages]
    full = _render(template, clean, tools, False, special)
    spans: list[tuple[int, int]] = []
    if mode == "all":
        spans = [(0, len(full))]
    else:
        for i in _trained_turns(messages, mode):
            before = _render(template, clean[:i], tools, True, special)
            upto = _render(template, clean[:i + 1], tools, False, special)
            if full.startswith(upto) and upto.startswith(before):
                spans.append((len(before), len(upto)))
            else:  # a template that renders a prefix differently: fall back to the turn's own text
                content = messages[i]["content"] or ""
                start = full.find(content, spans[-1][1] if spans else 0) if content else -1
                if start >= 0:
                    spans.append((start, start + len(content)))
                view.note = "this template renders a conversation's prefix differently; spans found by text"
    pieces = _token_spans(tokenizer, full)
    view.total = len(pieces)
    for start, end in pieces:
        trained = any(a <= start < b for a, b in spans)
        view.trained += trained
        if len(view.tokens) < MAX_TOKENS_SHOWN:
            view.tokens.append((full[start:end], trained))
    view.truncated = view.total > MAX_TOKENS_SHOWN
    return view
