import numpy as np

from app.checks.outlier import OutlierCheck
from tests.checks.conftest import by_example

WORDS = ["install", "package", "debian", "server", "library", "python", "module", "tool", "command", "file"]


def similar_pairs(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"input": "the " + " ".join(rng.choice(WORDS, size=6)), "output": "ok " + "word " * int(rng.integers(8, 12))}
            for _ in range(n)]


def test_an_input_unlike_every_other_is_an_outlier(make_ctx):
    pairs = similar_pairs(40)
    pairs.append({"input": "zebra quantum saxophone marmalade", "output": "ok word word word word word word word"})
    found = by_example(OutlierCheck().run(make_ctx(pairs)))
    assert set(found) == {41}
    assert found[41].details["kind"] == ["input_distance"] and 0.5 <= found[41].score <= 1
    assert "far from all others" in found[41].details["message"]


def test_abnormal_output_lengths(make_ctx):
    pairs = similar_pairs(40)
    pairs[5]["output"] = "x " * 5000
    pairs[6]["output"] = "x"
    found = by_example(OutlierCheck().run(make_ctx(pairs)))
    assert set(found) == {6, 7}
    assert found[6].details["kind"] == ["output_length"] and "long" in found[6].details["message"]
    assert "short" in found[7].details["message"]


def test_no_outliers_in_homogeneous_data_and_none_below_the_minimum_size(make_ctx):
    assert OutlierCheck().run(make_ctx(similar_pairs(40))) == []
    tiny = similar_pairs(5) + [{"input": "zebra quantum saxophone", "output": "ok"}]
    assert OutlierCheck().run(make_ctx(tiny)) == []


def test_labels_have_no_length_outliers(make_ctx):
    pairs = [{"input": p["input"], "output": "a" if i % 3 else "a-much-longer-label-name"}
             for i, p in enumerate(similar_pairs(40))]
    found = OutlierCheck().run(make_ctx(pairs, task_type="classification"))
    assert all("output_length" not in d.details["kind"] for d in found)
