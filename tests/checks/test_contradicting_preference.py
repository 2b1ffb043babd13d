"""contradicting_preference on hand-made pairs: what it must flag and what it must not."""

import pytest

from app.checks.contradicting_preference import ContradictingPreferenceCheck
from app.errors import InvalidInput
from tests.checks.conftest import by_example

GOOD = "Installs the package and its dependencies from the configured repositories."
BAD = "Removes the package."


def run(make_ctx, pairs, **settings):
    ctx = make_ctx(pairs, task_type="preference",
                   settings={"contradicting_preference": settings} if settings else None)
    return by_example(ContradictingPreferenceCheck().run(ctx))


def test_flags_a_pair_preferred_both_ways_on_the_same_prompt(make_ctx):
    found = run(make_ctx, [
        {"input": "What does apt install do?", "output": GOOD, "rejected": BAD},
        {"input": "what does  APT install do?", "output": BAD, "rejected": GOOD},  # same after normalisation
        {"input": "What does apt install do?", "output": GOOD, "rejected": "Nothing."},  # consistent: not flagged
    ])
    assert set(found) == {1, 2}
    assert found[1].details["cluster_id"] == found[2].details["cluster_id"] == "contradiction:1"
    assert found[1].details["contradicts"] == [2] and found[1].score == 1.0


def test_flags_near_same_answers_reversed(make_ctx):
    found = run(make_ctx, [
        {"input": "What does apt install do?", "output": GOOD, "rejected": BAD},
        {"input": "What does apt install do?", "output": BAD.rstrip("."), "rejected": GOOD.replace("the configured", "configured")},
    ])
    assert set(found) == {1, 2} and 0.95 <= found[1].score < 1


def test_flags_a_kto_completion_labelled_both_ways(make_ctx):
    found = run(make_ctx, [
        {"input": "Explain apt.", "output": GOOD, "kto_label": True},
        {"input": "Explain apt.", "output": GOOD, "kto_label": False},
        {"input": "Explain apt.", "output": BAD, "kto_label": False},
    ])
    assert set(found) == {1, 2}


def test_does_not_flag_consistent_or_unrelated_prompts(make_ctx):
    found = run(make_ctx, [
        {"input": "What does apt install do?", "output": GOOD, "rejected": BAD},
        {"input": "Describe the package zsh", "output": BAD, "rejected": GOOD},  # other prompt: no contradiction
        {"input": "What does apt install do?", "output": GOOD, "rejected": BAD},  # a repeat agrees
        {"input": "Explain apt.", "output": GOOD, "kto_label": True},
        {"input": "Explain apt.", "output": BAD, "kto_label": False},
    ])
    assert found == {}


def test_settings_are_validated_by_their_model(make_ctx):
    with pytest.raises(InvalidInput, match="threshold"):
        make_ctx([{"input": "q", "output": "a"}], settings={"contradicting_preference": {"threshold": 2}})


def test_near_same_prompts_joined_by_the_embeddings_are_compared(make_ctx):
    import numpy as np

    pairs = [{"input": "Describe the package zsh", "output": GOOD, "rejected": BAD},
             {"input": "Please describe the package zsh.", "output": BAD, "rejected": GOOD},
             {"input": "Describe the package vim", "output": BAD, "rejected": GOOD}]
    ctx = make_ctx(pairs, task_type="preference")
    # The first two prompts mean the same (one vector); the third is another prompt.
    ctx.vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    found = by_example(ContradictingPreferenceCheck().run(ctx))
    assert set(found) == {1, 2}
    ctx = make_ctx(pairs, task_type="preference")
    ctx.vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)  # nothing near
    assert ContradictingPreferenceCheck().run(ctx) == []
