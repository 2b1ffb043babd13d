from app.checks.format import FormatCheck, role_order_problem
from tests.checks.conftest import by_example


def test_flags_each_format_rule_and_leaves_clean_pairs_alone(make_ctx):
    ctx = make_ctx([
        {"input": "What is the capital of France?", "output": "Paris"},           # 1 clean
        {"input": "   ", "output": "Paris"},                                       # 2 empty input
        {"input": "Name a colour", "output": ""},                                  # 3 empty output
        {"input": " padded question", "output": "answer"},                         # 4 whitespace
        {"input": "bell\x07 inside", "output": "answer"},                          # 5 control character
        {"input": "broken \ufffd text", "output": "answer"},                        # 6 broken unicode
        {"input": "multi\nline\ttext is fine", "output": "answer"},                # 7 clean (newline, tab)
    ], settings={"format": {"max_tokens": 50}})
    found = by_example(FormatCheck().run(ctx))
    assert set(found) == {2, 3, 4, 5, 6}
    assert found[2].details["rules"] == ["empty_input"] and found[2].score == 1.0
    assert found[3].details["rules"] == ["empty_output"]
    assert found[4].details["rules"] == ["surrounding_whitespace"] and found[4].score < 0.5
    assert found[5].details["rules"] == ["control_characters"]
    assert found[6].details["rules"] == ["broken_unicode"]
    assert all(0 <= d.score <= 1 and d.details["message"] for d in found.values())
    assert "empty" in found[2].details["message"].lower()


def test_label_set_json_schema_and_token_limit(make_ctx):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    ctx = make_ctx([
        {"input": "q1", "output": '{"answer": "yes"}'},
        {"input": "q2", "output": "not json"},
        {"input": "q3", "output": '{"answer": 3}'},
        {"input": "word " * 40 + "end", "output": '{"answer": "long"}'},
    ], output_schema=schema, settings={"format": {"max_tokens": 30}})
    found = by_example(FormatCheck().run(ctx))
    assert set(found) == {2, 3, 4}
    assert found[2].details["rules"] == ["output_not_json"]
    assert found[3].details["rules"] == ["output_schema"] and "answer" in found[3].details["message"]
    assert found[4].details["rules"] == ["too_many_tokens"] and "30" in found[4].details["message"]

    labelled = make_ctx([{"input": "a", "output": "spam"}, {"input": "b", "output": "eggs"}],
                        task_type="classification", label_set=["spam", "ham"])
    assert set(by_example(FormatCheck().run(labelled))) == {2}


def test_history_role_order():
    assert role_order_problem(None, False) is None
    assert role_order_problem([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                              False) is None
    assert role_order_problem([{"role": "system", "content": "s"}, {"role": "user", "content": "hi"},
                               {"role": "assistant", "content": "yo"}], False) is None
    assert "starts with 'assistant'" in role_order_problem([{"role": "assistant", "content": "x"}], False)
    assert "two 'user' turns" in role_order_problem(
        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}],
        False)
    assert "ends with a user turn" in role_order_problem([{"role": "user", "content": "a"}], False)
    assert "unknown role" in role_order_problem([{"role": "robot", "content": "a"}], False)
    assert "after the first" in role_order_problem(
        [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}], False)


def test_wrong_history_is_a_finding(make_ctx):
    ctx = make_ctx([
        {"input": "and then?", "output": "done", "history": [{"role": "user", "content": "a"},
                                                            {"role": "assistant", "content": "b"}]},
        {"input": "and then?", "output": "done", "history": [{"role": "assistant", "content": "b"}]},
    ])
    found = by_example(FormatCheck().run(ctx))
    assert set(found) == {2} and found[2].details["rules"] == ["role_order"]
