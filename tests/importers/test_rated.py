"""rated: a prompt with scored completions; best vs worst, or every pair above a margin."""

from tests.importers.preference_helpers import error_of, pairs_of

ULTRA = {"instruction": "Explain rain.", "id": "u1", "completions": [
    {"response": "Water falls.", "overall_score": 6},
    {"response": "Clouds condense vapour into drops that fall.", "overall_score": 9},
    {"response": "Rain.", "overall_score": 2},
    {"response": "Drops fall from clouds.", "overall_score": "8"},
]}


def test_best_against_worst_by_default():
    [pair], fmt = pairs_of(ULTRA)
    assert fmt == "rated"
    assert (pair.input, pair.output, pair.rejected, pair.external_id) == (
        "Explain rain.", "Clouds condense vapour into drops that fall.", "Rain.", "u1")


def test_margin_gives_every_pair_far_enough_apart():
    pairs, _ = pairs_of(ULTRA, rated_margin=3)
    assert sorted(p.external_id for p in pairs) == ["u1#0>2", "u1#1>0", "u1#1>2", "u1#3>2"]
    assert all(p.line == 1 for p in pairs)


def test_parallel_scores_list_and_ties():
    [pair], _ = pairs_of({"prompt": "q", "completions": ["a", "b", "c"], "scores": [1, 3, 3]})
    assert (pair.output, pair.rejected) == ("b", "a")  # a tie at the top: the earlier completion wins


def test_rated_errors():
    assert error_of({"prompt": "q", "completions": ["a", "b"], "scores": [1, 1]}).field == "completions"
    assert error_of({"prompt": "q", "completions": ["a"], "scores": [1]}).field == "completions"
    assert error_of({"prompt": "q", "completions": ["a", "b"], "scores": [1]}).field == "scores"
    assert error_of({"prompt": "q", "completions": [{"text": "a", "score": "high"}, {"text": "b", "score": 1}]}
                    ).field == "completions[0].score"
    assert error_of({"prompt": "q", "completions": [{"text": "a"}, {"text": "b", "score": 1}]}).field == "completions[0]"
    assert error_of({"prompt": "q", "completions": [{"text": "a", "score": 1}, {"text": "b", "score": 1.5}]},
                    rated_margin=1).field == "completions"
    assert error_of({"completions": [{"text": "a", "score": 1}, {"text": "b", "score": 2}]}).field == "instruction"
