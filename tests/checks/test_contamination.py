"""contamination: each match kind on hand-made cases, what it must flag and what it must not."""

import numpy as np

from app.checks.base import ReferenceSet
from app.checks.contamination import ContaminationCheck, ngram_matches, semantic_matches
from app.embeddings.hashing import HashingEmbedder
from tests.checks.conftest import by_example

LONG = ("the quick brown fox jumps over the lazy dog while the farmer sleeps under the old oak tree "
        "near the river bank")
BOILERPLATE = "This package contains the development files for the library"  # 10 words, under 13


def reference(items: list[tuple[str, str]], dataset_id: int = 90, embed: bool = True) -> ReferenceSet:
    inputs = [i for i, _ in items]
    return ReferenceSet(dataset_id=dataset_id, name="evalset", ids=np.arange(1000, 1000 + len(items)),
                        inputs=inputs, outputs=[o for _, o in items],
                        vectors=HashingEmbedder().encode(inputs) if embed else None)


def run(make_ctx, pairs, refs, **settings):
    ctx = make_ctx(pairs, settings={"contamination": {"reference_datasets": [90], **settings}})
    ctx.references = refs
    return by_example(ContaminationCheck().run(ctx))


def test_exact_after_normalisation_of_the_input_or_the_whole_pair(make_ctx):
    found = run(make_ctx, [
        {"input": "  What is the capital of FRANCE? ", "output": "Paris"},    # input equal after normalisation
        {"input": "Name a prime number", "output": "7"},                       # unrelated
        {"input": "ｗｈａｔ is 2+2", "output": "4"},                              # full-width: NFKC
    ], [reference([("what is the capital of france?", "Paris."), ("What is 2+2", "four")])], semantic=False)
    assert set(found) == {1, 3}
    assert found[1].details["match"] == "exact" and found[1].details["reference_example_id"] == 1000
    assert found[1].details["reference_dataset_id"] == 90 and found[1].details["similarity"] == 1.0
    assert found[3].details["reference_example_id"] == 1001
    assert "evalset" in found[1].details["message"]


def test_a_shared_13_gram_is_flagged_and_shorter_boilerplate_is_not(make_ctx):
    found = run(make_ctx, [
        {"input": f"Intro words here. {LONG}!", "output": "x"},          # contains the whole 20-word passage
        {"input": f"{BOILERPLATE} libfoo", "output": "x"},                # shares 10 words only: boilerplate
        {"input": "the quick brown fox jumps over the lazy dog", "output": "y"},  # 9 words: too short
    ], [reference([(LONG, ""), (f"{BOILERPLATE} libbar", "")])], semantic=False)
    assert set(found) == {1}
    assert found[1].details["match"] == "ngram" and found[1].details["similarity"] == 1.0


def test_ngram_share_is_of_the_reference_items_ngrams():
    words = [f"w{i}" for i in range(40)]
    ref = " ".join(words)
    half = " ".join(words[:26])  # 14 of the reference's 28 13-grams
    found = ngram_matches([half, "nothing in common at all"], [ref], 13)
    assert set(found) == {0} and found[0][0] == 0 and abs(found[0][1] - 14 / 28) < 1e-9


def test_ngrams_never_span_two_texts():
    words = [f"w{i}" for i in range(13)]
    texts = [" ".join(words[:7]), " ".join(words[7:])]  # together 13 words, each alone too short
    assert ngram_matches(texts, [" ".join(words)], 13) == {}


def test_semantic_match_at_or_above_the_threshold_only(make_ctx):
    pairs = [{"input": "alpha beta gamma delta", "output": "1"}, {"input": "zeta eta theta iota", "output": "2"}]
    ref = reference([("alpha beta gamma delta epsilon", "")])
    found = run(make_ctx, pairs, [ref], semantic_threshold=0.5, ngram=13)
    assert set(found) == {1} and found[1].details["match"] == "semantic"
    assert 0.5 <= found[1].details["similarity"] < 1.0
    assert run(make_ctx, pairs, [ref], semantic_threshold=0.99) == {}


def test_semantic_matches_returns_the_most_similar_reference():
    vectors = np.eye(3, dtype=np.float32)
    refs = np.array([[0, 1, 0], [0.8, 0.6, 0]], dtype=np.float32)
    found = semantic_matches(vectors, refs, 0.7)
    assert found == {0: (1, found[0][1]), 1: (0, 1.0)} and abs(found[0][1] - 0.8) < 1e-6


def test_the_strongest_kind_wins_and_each_pair_is_flagged_once(make_ctx):
    found = run(make_ctx, [{"input": LONG, "output": ""}], [reference([(LONG, "")])], semantic_threshold=0.1)
    assert len(found) == 1 and found[1].details["match"] == "exact"


def test_without_references_nothing_runs(make_ctx):
    ctx = make_ctx([{"input": LONG, "output": ""}])
    assert ContaminationCheck().run(ctx) == []


def test_settings_are_typed(make_ctx):
    import pytest

    from app.checks.registry import effective_settings
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput) as error:
        effective_settings({"contamination": {"ngram": 2}})
    assert error.value.details["field"] == "settings.contamination.ngram"
    with pytest.raises(InvalidInput):
        effective_settings({"contamination": {"reference_datasets": ["x"]}})
    assert effective_settings({})["contamination"]["reference_datasets"] == []


def test_an_ngram_many_training_pairs_share_is_boilerplate():
    boilerplate = "this package contains the header files and static library needed to compile programs"
    texts = [f"lib{i} does thing {i}. {boilerplate} with lib{i}." for i in range(12)]
    reference = [f"libzzz is new. {boilerplate} with libzzz."]
    assert len(ngram_matches(texts, reference, 13)) == 12                     # without the cap: all flagged
    assert ngram_matches(texts, reference, 13, max_texts_per_ngram=10) == {}  # 12 pairs share it: boilerplate
    assert len(ngram_matches(texts[:3], reference, 13, max_texts_per_ngram=10)) == 3
