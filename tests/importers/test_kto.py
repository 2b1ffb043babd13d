"""kto: unpaired prompt/completion/label true|false."""

from tests.importers.preference_helpers import error_of, pairs_of


def test_kto_labels_and_conversational_form():
    pairs, fmt = pairs_of({"prompt": "q", "completion": "good", "label": True},
                          {"prompt": [{"role": "user", "content": "q"}],
                           "completion": [{"role": "assistant", "content": "bad"}], "label": False})
    assert fmt == "kto"
    assert [(p.input, p.output, p.rejected, p.kto_label, p.label) for p in pairs] == [
        ("q", "good", None, True, None), ("q", "bad", None, False, None)]


def test_a_string_label_is_an_sft_prompt_completion_record():
    [pair], fmt = pairs_of({"prompt": "q", "completion": "a", "label": "geo"})
    assert fmt == "prompt_completion" and pair.label == "geo" and pair.kto_label is None


def test_kto_errors():
    assert error_of({"prompt": "q", "completion": "a", "label": True},
                    {"prompt": "q", "completion": "a", "label": "yes"}).field == "label"
    assert error_of({"prompt": "q", "completion": 1, "label": True}).field == "completion"
