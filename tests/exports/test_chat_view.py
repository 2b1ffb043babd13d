"""The training view marks exactly the tokens a trainer learns from, with the tokenizer's own chat template."""

import re

from app.exports.base import ExportRow
from app.exports.chat_view import training_view
from app.embeddings.target_tokenizer import load_tokenizer
from tests.exports.trainer_kit import tiny_tokenizer

ROW = ExportRow(id=1, system="Be terse.", input="And 3+3?", output="6", label=None, weight=None, status="pending",
                input_hash="h", history=[{"role": "user", "content": "What is 2+2?"},
                                         {"role": "assistant", "content": "5", "weight": 0},
                                         {"role": "user", "content": "And 1+1?"}, {"role": "assistant", "content": "2"}])


def trained_text(view) -> str:
    return "".join(text for text, trained in view.tokens if trained)


def test_the_local_template_marks_what_transformers_marks_as_assistant_tokens(tmp_path):
    hf = tiny_tokenizer()
    hf.save_pretrained(tmp_path)
    view = training_view(ROW, load_tokenizer("local", str(tmp_path)), "all")
    assert view.template == "the tokenizer's own chat template" and view.trained == view.total
    # transformers' own assistant mask ({% generation %} in the template) over the same conversation.
    messages = [{"role": "system", "content": "Be terse."}, *[{k: v for k, v in m.items() if k != "weight"}
                                                                for m in ROW.history],
                {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6"}]
    out = hf.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert len(out["input_ids"]) == view.total
    masked = hf.decode([t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    # The assistant view leaves out the weight-0 turn ("5"); otherwise it is the assistant mask.
    assistant = training_view(ROW, load_tokenizer("local", str(tmp_path)), "assistant")
    assert masked == "5<|im_end|>2<|im_end|>6<|im_end|>"
    assert trained_text(assistant) == "2<|im_end|>6<|im_end|>"
    assert trained_text(training_view(ROW, load_tokenizer("local", str(tmp_path)), "completion")) == "6<|im_end|>"


def test_without_a_chat_template_chatml_is_shown_and_said_to_be_an_approximation():
    view = training_view(ROW, load_tokenizer("o200k_base"), "assistant")
    assert "ChatML" in view.template and "approximation" in view.template
    assert re.fullmatch(r"2<\|im_end\|>\n6<\|im_end\|>\n", trained_text(view))
    assert view.trained < view.total
