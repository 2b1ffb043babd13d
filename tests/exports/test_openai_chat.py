"""OpenAI's rules for a chat fine-tuning file, checked on written lines: each broken rule is named with
its split, line and example, plain lines pass, and the token limit counts the formatting per message."""

import orjson

from app.exports.openai_chat import MAX_TOKENS_PER_EXAMPLE, TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, check_export


def _line(*messages, **extra) -> bytes:
    return orjson.dumps({"messages": list(messages), **extra}) + b"\n"


USER = {"role": "user", "content": "q"}
ANSWER = {"role": "assistant", "content": "a"}


def test_each_broken_rule_is_named_with_its_line_and_example():
    lines = [
        _line(USER, ANSWER),
        _line({"role": "system", "content": "s"}, USER, {**ANSWER, "weight": 0}),
        _line(USER),  # no answer
        _line({"role": "robot", "content": "x"}, ANSWER),
        _line(USER, {**ANSWER, "weight": 0.5}),
        _line({**USER, "weight": 1}, ANSWER),
        _line(USER, {"role": "assistant", "content": None}),
        _line(USER, {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]}),
        _line(USER, {**ANSWER, "colour": "red"}, extra="no"),
        orjson.dumps({"messages": []}),
    ] + [_line(USER, ANSWER)] * 10
    ids = list(range(100, 100 + len(lines)))
    counts = [5] * len(lines)
    counts[1] = MAX_TOKENS_PER_EXAMPLE - 3 * TOKENS_PER_MESSAGE - TOKENS_PER_REPLY  # exactly at the limit
    counts[0] = MAX_TOKENS_PER_EXAMPLE  # over it
    checks = check_export({"train": lines}, {"train": ids}, {"train": counts}, "o200k_base")
    assert not checks["passed"]
    assert checks["violations_by_rule"] == {"token_limit": 1, "no_assistant": 2, "role": 1, "weight": 2,
                                            "content": 1, "unknown_key": 2}
    found = {(v["rule"], v["line"], v["example_id"]) for v in checks["violations"]}
    assert found == {("token_limit", 1, 100), ("no_assistant", 3, 102), ("role", 4, 103), ("weight", 5, 104),
                     ("weight", 6, 105), ("content", 7, 106), ("unknown_key", 9, 108), ("unknown_key", 9, 108),
                     ("no_assistant", 10, 109)}
    assert {v["split"] for v in checks["violations"]} == {"train"}


def test_plain_and_tool_calling_lines_pass():
    lines = [_line(USER, ANSWER)] * 9 + [
        _line(USER, {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
              {"role": "tool", "content": "42", "tool_call_id": "c1"}, ANSWER, tools=[{"type": "function"}])]
    checks = check_export({"train": lines, "validation": [_line(USER, ANSWER)]},
                          {"train": list(range(10)), "validation": [10]}, {"train": [3] * 10, "validation": [3]},
                          "o200k_base")
    assert checks["passed"] and checks["violations"] == [] and checks["violations_by_rule"] == {}
