from app.checks.near_duplicate import NearDuplicateCheck
from tests.checks.conftest import by_example

BASE = "Install the nginx web server on a Debian machine and enable it at boot"
UNRELATED = [
    "Translate this sentence into French please",
    "What is the boiling point of water at sea level",
    "Write a haiku about autumn leaves falling",
    "Explain the difference between TCP and UDP",
]


def test_small_edits_cluster_and_unrelated_inputs_do_not(make_ctx):
    ctx = make_ctx([
        {"input": BASE, "output": "apt install nginx"},
        {"input": BASE.replace("machine", "box"), "output": "apt install nginx"},
        {"input": BASE + ".", "output": "apt-get install nginx"},
        *({"input": text, "output": "x"} for text in UNRELATED),
    ], settings={"near_duplicate": {"threshold": 0.85}})
    found = by_example(NearDuplicateCheck().run(ctx))
    assert set(found) == {2, 3}
    for draft in found.values():
        assert draft.details["cluster_id"] == "near:1" and draft.details["duplicate_of"] == 1
        assert draft.details["members"] == [1, 2, 3]
        assert 0.85 <= draft.details["similarity"] <= 1 and draft.score == draft.details["similarity"]


def test_threshold_is_absolute_and_settable(make_ctx):
    pairs = [{"input": BASE, "output": "a"}, {"input": BASE.replace("machine", "box"), "output": "a"}]
    strict = make_ctx(pairs, settings={"near_duplicate": {"threshold": 0.999}})
    assert NearDuplicateCheck().run(strict) == []


def test_pure_exact_copies_are_left_to_exact_duplicate(make_ctx):
    ctx = make_ctx([{"input": BASE, "output": "a"}, {"input": BASE.upper(), "output": "a"},
                    {"input": UNRELATED[0], "output": "b"}])
    assert NearDuplicateCheck().run(ctx) == []


def test_the_default_threshold_is_the_embedding_models_own(make_ctx):
    """0.92 for the transformer's scale, 0.98 for the static model's (app/embeddings/thresholds.py);
    a dataset's own threshold wins over either."""
    pairs = [{"input": BASE, "output": "a"}, {"input": BASE.replace(" at boot", " at system boot"), "output": "a"},
             {"input": UNRELATED[0], "output": "b"}]
    ctx = make_ctx(pairs)
    similarity = float(ctx.vectors[0] @ ctx.vectors[1])
    assert 0.92 <= similarity < 0.98
    ctx.embedding_model = "all-MiniLM-L6-v2"
    assert set(by_example(NearDuplicateCheck().run(ctx))) == {2}
    static = make_ctx(pairs)
    static.embedding_model = "minilm-static-256"
    assert NearDuplicateCheck().run(static) == []
    overridden = make_ctx(pairs, settings={"near_duplicate": {"threshold": 0.9}})
    overridden.embedding_model = "minilm-static-256"
    assert set(by_example(NearDuplicateCheck().run(overridden))) == {2}
