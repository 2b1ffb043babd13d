"""format on preference pairs: both answers are checked (empty, whitespace, JSON schema, tokens)."""

from app.checks.format import FormatCheck
from tests.checks.conftest import by_example


def run(make_ctx, pairs, **kwargs):
    ctx = make_ctx([{"input": f"q{i}", **p} for i, p in enumerate(pairs)], task_type="preference", embed=False,
                   **kwargs)
    return by_example(FormatCheck().run(ctx))


def test_either_side_empty_or_padded_is_flagged(make_ctx):
    found = run(make_ctx, [{"output": "fine", "rejected": "  "}, {"output": "", "rejected": "fine"},
                           {"output": "fine", "rejected": "padded "}, {"output": "fine", "rejected": "also fine"}])
    assert found[1].details["rules"] == ["empty_rejected"] and "rejected answer is empty" in found[1].details["message"]
    assert found[2].details["rules"] == ["empty_output"] and "chosen answer is empty" in found[2].details["message"]
    assert found[3].details["rules"] == ["surrounding_whitespace"]
    assert 4 not in found


def test_output_schema_applies_to_both_sides(make_ctx):
    schema = {"type": "object", "required": ["answer"]}
    found = run(make_ctx, [{"output": '{"answer": 1}', "rejected": "{}"}, {"output": '{"answer": 1}', "rejected": "x"},
                           {"output": '{"answer": 1}', "rejected": '{"answer": 2}'}], output_schema=schema)
    assert found[1].details["rules"] == ["rejected_schema"]
    assert found[2].details["rules"] == ["rejected_not_json"]
    assert 3 not in found


def test_the_longer_side_counts_for_the_token_limit(make_ctx):
    long_text = "word " * 60
    found = run(make_ctx, [{"output": "short", "rejected": long_text.strip()},
                           {"output": "short", "rejected": "short too"}], settings={"format": {"max_tokens": 40}})
    assert found[1].details["rules"] == ["too_many_tokens"] and 2 not in found
