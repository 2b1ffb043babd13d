"""length_bias: the dataset-level figures, biased and balanced sets."""

from app.checks.length_bias import LengthBiasCheck, length_bias


def test_a_set_where_chosen_is_always_longer_is_biased(make_ctx):
    pairs = [{"input": f"q{i}", "output": "a long detailed chosen answer", "rejected": "short"} for i in range(30)]
    pairs.append({"input": "kto", "output": "x", "kto_label": True})  # KTO examples have no second side
    ctx = make_ctx(pairs, task_type="preference", embed=False)
    assert LengthBiasCheck().run(ctx) == []  # a figure, not a finding per pair
    figures = ctx.notes["length_bias"]
    assert figures["pairs"] == 30 and figures["chosen_longer_share"] == 1.0 and figures["biased"]
    assert figures["median_length_ratio"] == 3.0  # (5 + 1) / (1 + 1)


def test_a_balanced_set_is_not_biased():
    pairs = [("one two three", "one")] * 10 + [("one", "one two three")] * 10 + [("same", "size")] * 5
    figures = length_bias(pairs)
    assert figures["chosen_longer_share"] == 0.4 and figures["rejected_longer_share"] == 0.4
    assert figures["median_length_ratio"] == 1.0 and not figures["biased"]


def test_too_few_pairs_give_no_verdict_and_none_give_no_figures():
    assert not length_bias([("a b c", "a")] * 5)["biased"]
    assert length_bias([])["chosen_longer_share"] is None
