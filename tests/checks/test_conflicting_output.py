from app.checks.conflicting_output import ConflictingOutputCheck
from tests.checks.conftest import by_example


def test_same_input_different_label_flags_both_sides(make_ctx):
    ctx = make_ctx([
        {"input": "Is this email spam: WIN A PRIZE NOW", "output": "spam"},
        {"input": "is this email spam:  win a prize now", "output": "ham"},
        {"input": "Is this email spam: meeting at 10", "output": "ham"},
        {"input": "Is this email spam: meeting at 10", "output": "ham"},  # agree: no conflict
    ], task_type="classification", settings={"conflicting_output": {"include_near": False}})
    found = by_example(ConflictingOutputCheck().run(ctx))
    assert set(found) == {1, 2}
    assert found[2].details == {**found[2].details, "cluster_id": "exact:1", "other_example_id": 1,
                                "output": "ham", "other_output": "spam"}
    assert found[1].details["other_example_id"] == 2 and found[1].score == 1.0
    assert "different label" in found[1].details["message"]


def test_generation_outputs_must_really_differ(make_ctx):
    ctx = make_ctx([
        {"input": "Capital of France?", "output": "Paris."},
        {"input": "capital of france?", "output": "paris"},                      # same answer
        {"input": "What is 2 + 2?", "output": "4"},
        {"input": "what is 2 + 2?", "output": "The answer is five, obviously."},  # different answer
    ], settings={"conflicting_output": {"include_near": False}})
    found = by_example(ConflictingOutputCheck().run(ctx))
    assert set(found) == {3, 4}
    assert found[4].details["output"].startswith("The answer") and found[4].details["other_output"] == "4"


def test_near_duplicate_inputs_with_other_labels(make_ctx):
    base = "Reset the admin password of the database server tonight"
    ctx = make_ctx([
        {"input": base, "output": "admin"},
        {"input": base.replace("tonight", "today"), "output": "database"},
        {"input": "Completely unrelated sentence about cooking pasta", "output": "food"},
    ], task_type="classification", settings={"near_duplicate": {"threshold": 0.8}})
    found = by_example(ConflictingOutputCheck().run(ctx))
    assert set(found) == {1, 2}
    assert found[2].details["cluster_id"] == "near:1" and 0.8 <= found[2].score < 1
