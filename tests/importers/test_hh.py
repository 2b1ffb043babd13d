"""hh: two Anthropic-HH dialogues split at their shared prefix."""

from tests.importers.preference_helpers import error_of, pairs_of

PROMPT = "\n\nHuman: Hi there\n\nAssistant: Hello, how can I help?\n\nHuman: Name a fruit."


def test_hh_multi_turn_split_at_the_shared_prefix():
    [pair], fmt = pairs_of({"chosen": PROMPT + "\n\nAssistant: An apple.", "rejected": PROMPT + "\n\nAssistant: No."})
    assert fmt == "hh"
    assert (pair.input, pair.output, pair.rejected) == ("Name a fruit.", "An apple.", "No.")
    assert pair.history == [{"role": "user", "content": "Hi there"},
                            {"role": "assistant", "content": "Hello, how can I help?"}]


def test_hh_answers_that_share_a_beginning_stay_whole():
    [pair], _ = pairs_of({"chosen": PROMPT + "\n\nAssistant: An apple, a pear.",
                          "rejected": PROMPT + "\n\nAssistant: An apple"})
    assert (pair.output, pair.rejected) == ("An apple, a pear.", "An apple")


def test_hh_is_recognised_only_in_plain_dialogue_text():
    [_], fmt = pairs_of({"chosen": "blue sky", "rejected": "blue sea"})
    assert fmt == "trl_preference"


def test_hh_errors():
    error = error_of({"chosen": PROMPT + "\n\nAssistant: A.", "rejected": "\n\nHuman: Other\n\nAssistant: B."})
    assert error.field.startswith("chosen[")
    error = error_of({"chosen": PROMPT + "\n\nAssistant: A.", "rejected": PROMPT}, format="hh")
    assert error.field == "rejected[2]" and "assistant" in error.message
    assert error_of({"chosen": "preamble\n\nHuman: x\n\nAssistant: y", "rejected": "z"}, format="hh").field == "chosen"
    assert error_of({"chosen": PROMPT + "\n\nAssistant: A.", "rejected": 1}).field == "rejected"
