"""trl_preference: standard and conversational, explicit and implicit prompt."""

from tests.importers.preference_helpers import error_of, pairs_of

USER = {"role": "user", "content": "What colour is the sky?"}


def answer(text):
    return [{"role": "assistant", "content": text}]


def test_standard_explicit_prompt():
    [pair], fmt = pairs_of({"prompt": "2+2?", "chosen": "4", "rejected": "5", "id": "a", "score_chosen": 9})
    assert fmt == "trl_preference"
    assert (pair.input, pair.output, pair.rejected, pair.kto_label, pair.external_id) == ("2+2?", "4", "5", None, "a")
    assert pair.metadata == {"score_chosen": 9}  # unknown keys kept, as for SFT formats


def test_conversational_explicit_prompt_with_system_and_history():
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello"}, USER]
    [pair], _ = pairs_of({"prompt": prompt, "chosen": answer("Blue."), "rejected": answer("Green.")})
    assert pair.system == "Be brief." and pair.input == USER["content"]
    assert pair.history == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert (pair.output, pair.rejected) == ("Blue.", "Green.")


def test_conversational_implicit_prompt_is_the_shared_prefix():
    [pair], _ = pairs_of({"chosen": [USER, *answer("Blue.")], "rejected": [USER, *answer("Green.")]})
    assert (pair.input, pair.output, pair.rejected, pair.history) == (USER["content"], "Blue.", "Green.", None)


def test_conversational_implicit_identical_dialogues_keep_both_answers():
    [pair], _ = pairs_of({"chosen": [USER, *answer("Blue.")], "rejected": [USER, *answer("Blue.")]})
    assert pair.output == pair.rejected == "Blue."  # the identical_sides check flags it, the import keeps it


def test_standard_implicit_prompt_is_cut_at_a_word_boundary():
    [pair], _ = pairs_of({"chosen": "The sky is blue.", "rejected": "The sky is green."})
    assert (pair.input, pair.output, pair.rejected) == ("The sky is", "blue.", "green.")
    [pair], _ = pairs_of({"chosen": "Say hello", "rejected": "Say help"})
    assert (pair.input, pair.output, pair.rejected) == ("Say", "hello", "help")


def test_errors_name_the_line_and_field():
    error = error_of({"prompt": "q", "chosen": "a", "rejected": 3})
    assert (error.line, error.field) == (1, "rejected")
    assert error_of({"prompt": "q", "chosen": "a"}, format="trl_preference").field == "rejected"
    assert error_of({"chosen": "abc", "rejected": "xyz"}).field == "prompt"  # no shared beginning
    error = error_of({"chosen": [USER, *answer("a")], "rejected": "b"})
    assert error.field == "rejected"
    error = error_of({"prompt": [USER], "chosen": answer("a") * 2, "rejected": answer("b")})
    assert error.field == "chosen" and "exactly one" in error.message
    error = error_of({"prompt": [USER, *answer("x")], "chosen": "a", "rejected": "b"})
    assert error.field == "prompt[1]" and "end with the user's turn" in error.message
    other = {"role": "user", "content": "Different"}
    error = error_of({"chosen": [USER, *answer("a")], "rejected": [other, *answer("b")]})
    assert error.field.startswith("chosen[")


def test_auto_detection_continues_after_a_bad_line():
    items, _ = __import__("tests.importers.preference_helpers", fromlist=["parse"]).parse(
        b'{"prompt": "q", "chosen": "a", "rejected": "b"}\nnot json\n{"prompt": "r", "chosen": "c", "rejected": "d"}\n')
    assert [getattr(i, "line", None) for i in items] == [1, 2, 3]
    assert items[1].field is None and "invalid JSON" in items[1].message
