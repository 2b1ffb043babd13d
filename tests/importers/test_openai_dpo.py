"""openai_dpo: input.messages / preferred_output / non_preferred_output."""

from tests.importers.preference_helpers import error_of, pairs_of


def record(**extra):
    return {"input": {"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]},
            "preferred_output": [{"role": "assistant", "content": "Hello!"}],
            "non_preferred_output": [{"role": "assistant", "content": "What."}], **extra}


def test_openai_dpo_pair():
    [pair], fmt = pairs_of(record(id=3))
    assert fmt == "openai_dpo"
    assert (pair.system, pair.input, pair.output, pair.rejected, pair.external_id) == (
        "Be kind.", "Hi", "Hello!", "What.", "3")


def test_tools_are_kept_in_metadata():
    data = record()
    data["input"]["tools"] = [{"type": "function", "function": {"name": "f"}}]
    [pair], _ = pairs_of(data)
    assert pair.metadata == {"input": {"tools": [{"type": "function", "function": {"name": "f"}}]}}


def test_errors():
    assert error_of(record(input="Hi")).field == "input"
    assert error_of({**record(), "input": {"messages": "Hi"}}).field == "input.messages"
    assert error_of({**record(), "input": {"messages": []}}).field == "input.messages"
    error = error_of({**record(), "preferred_output": [{"role": "user", "content": "x"}]})
    assert error.field == "preferred_output"
    error = error_of({**record(), "non_preferred_output": [{"role": "assistant", "content": 5}]})
    assert error.field == "non_preferred_output[0].content"
    error = error_of({**record(), "input": {"messages": [{"role": "user", "content": "a"},
                                                         {"role": "assistant", "content": "b"}]}})
    assert error.field == "input.messages[1]"
