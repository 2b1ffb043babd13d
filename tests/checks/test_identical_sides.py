"""identical_sides on hand-made pairs: what it must flag and what it must not."""

from app.checks.identical_sides import IdenticalSidesCheck
from app.checks.registry import enabled_checks
from tests.checks.conftest import by_example

CHOSEN = ("The apt package manager resolves dependencies, downloads packages from the configured "
          "repositories and installs them in the right order.")


def run(make_ctx, pairs, **settings):
    ctx = make_ctx([{"input": f"q{i}", **p} for i, p in enumerate(pairs)], task_type="preference",
                   settings={"identical_sides": settings} if settings else None, embed=False)
    return by_example(IdenticalSidesCheck().run(ctx))


def test_flags_identical_and_nearly_identical_sides(make_ctx):
    found = run(make_ctx, [
        {"output": CHOSEN, "rejected": CHOSEN},
        {"output": CHOSEN, "rejected": "  " + CHOSEN.upper().replace(" ", "   ")},  # same after normalisation
        {"output": CHOSEN, "rejected": CHOSEN.replace("right", "correct")},  # one word changed
    ])
    assert set(found) == {1, 2, 3}
    assert found[1].details["kind"] == found[2].details["kind"] == "identical" and found[1].score == 1.0
    assert found[3].details["kind"] == "nearly_identical" and 0.9 <= found[3].score < 1.0
    assert "%" in found[3].details["message"]


def test_does_not_flag_truncations_different_answers_or_kto(make_ctx):
    found = run(make_ctx, [
        {"output": CHOSEN, "rejected": CHOSEN[: len(CHOSEN) * 9 // 10]},  # a truncation, cosine ~0.98
        {"output": CHOSEN[:60], "rejected": CHOSEN},  # the other way round
        {"output": CHOSEN, "rejected": "A text editor for the console with syntax highlighting."},
        {"output": CHOSEN, "kto_label": True},  # unpaired
        {"output": "4"},  # an SFT-shaped row in a preference set has no rejected side
    ])
    assert found == {}


def test_threshold_setting(make_ctx):
    pair = {"output": CHOSEN, "rejected": CHOSEN.replace("downloads packages from", "fetches files off")}
    assert run(make_ctx, [pair]) == {}
    assert set(run(make_ctx, [pair], threshold=0.8)) == {1}


def test_runs_only_on_preference_datasets(make_ctx):
    ctx = make_ctx([{"input": "q", "output": "a"}], embed=False)
    assert "identical_sides" not in {c.name for c in enabled_checks(ctx.settings, "generation")}
    assert "identical_sides" in {c.name for c in enabled_checks(ctx.settings, "preference")}
    assert "conflicting_output" not in {c.name for c in enabled_checks(ctx.settings, "preference")}
