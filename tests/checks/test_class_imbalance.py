from app.checks.class_imbalance import ClassImbalanceCheck
from tests.checks.conftest import by_example


def test_labels_under_the_minimum_or_share_are_flagged(make_ctx):
    pairs = ([{"input": f"big {i}", "output": "big"} for i in range(60)]
             + [{"input": f"mid {i}", "output": "mid"} for i in range(12)]
             + [{"input": f"tiny {i}", "output": "tiny"} for i in range(3)])
    ctx = make_ctx(pairs, task_type="classification", embed=False)
    found = by_example(ClassImbalanceCheck().run(ctx))
    tiny_ids = set(range(73, 76))
    assert set(found) == tiny_ids
    draft = found[73]
    assert draft.details["label"] == "tiny" and draft.details["count"] == 3 and draft.details["min_count"] == 10
    assert 0 < draft.score <= 1 and "tiny" in draft.details["message"]
    assert ctx.notes["small_classes"] == ["tiny"]


def test_share_rule_catches_a_class_above_the_minimum_count(make_ctx):
    # 3 labels -> share floor 1/15 = 6.7%; 'mid' has 12 of 1012 = 1.2%.
    pairs = ([{"input": f"a {i}", "output": "a"} for i in range(500)]
             + [{"input": f"b {i}", "output": "b"} for i in range(500)]
             + [{"input": f"m {i}", "output": "mid"} for i in range(12)])
    ctx = make_ctx(pairs, task_type="classification", embed=False)
    assert {d.details["label"] for d in ClassImbalanceCheck().run(ctx)} == {"mid"}
    relaxed = make_ctx(pairs, task_type="classification", embed=False,
                       settings={"class_imbalance": {"share_factor": 100}})
    assert ClassImbalanceCheck().run(relaxed) == []


def test_balanced_labels_are_not_flagged(make_ctx):
    pairs = [{"input": f"x {i}", "output": "yes" if i % 2 else "no"} for i in range(40)]
    assert ClassImbalanceCheck().run(make_ctx(pairs, task_type="classification", embed=False)) == []
