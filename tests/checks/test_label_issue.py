import pytest
import numpy as np

from app.checks.label_issue import LabelIssueCheck
from tests.checks.conftest import by_example

TOPICS = {
    "network": ["router", "packet", "firewall", "dns", "socket", "tcp", "proxy", "bandwidth"],
    "graphics": ["pixel", "render", "image", "shader", "colour", "bitmap", "vector", "texture"],
    "database": ["query", "table", "index", "sql", "transaction", "schema", "row", "column"],
}


def topic_pairs(per_class: int = 30, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    pairs = []
    for label, words in TOPICS.items():
        for _ in range(per_class):
            picked = rng.choice(words, size=5, replace=True)
            pairs.append({"input": "a tool for " + " ".join(picked), "output": label})
    return pairs


def test_flipped_labels_are_found_and_correct_ones_mostly_not(make_ctx):
    pairs = topic_pairs()
    flipped = {3: "graphics", 40: "database", 75: "network"}  # 0-based positions
    for position, wrong in flipped.items():
        pairs[position]["output"] = wrong
    ctx = make_ctx(pairs, task_type="classification")
    found = by_example(LabelIssueCheck().run(ctx))
    flipped_ids = {p + 1 for p in flipped}
    assert flipped_ids <= set(found)
    assert len(set(found) - flipped_ids) <= 3  # few false alarms on 90 pairs
    draft = found[4]
    assert draft.details["given_label"] == "graphics" and draft.details["suggested_label"] == "network"
    assert 0 <= draft.score <= 1 and abs(draft.score - (1 - draft.details["label_quality"])) < 1e-3
    assert "graphics" in draft.details["message"]
    top = draft.details["top_labels"]  # the reviewer's label picker shows these with their probabilities
    assert len(top) == 3 and top[0][0] == "network" and top[0][1] >= top[1][1] >= top[2][1]


def test_classes_too_small_for_the_folds_are_reported_not_crashed_on(make_ctx):
    pairs = topic_pairs(per_class=10) + [{"input": "a tool for kernel modules", "output": "kernel"}]
    ctx = make_ctx(pairs, task_type="classification", settings={"label_issue": {"folds": 5}})
    drafts = LabelIssueCheck().run(ctx)
    assert ctx.notes["label_issue_skipped_classes"] == ["kernel"]
    assert all(d.example_id != len(pairs) for d in drafts)


def test_a_single_class_or_no_labels_gives_nothing(make_ctx):
    ctx = make_ctx([{"input": f"text {i}", "output": "only"} for i in range(20)], task_type="classification")
    assert LabelIssueCheck().run(ctx) == []
    generation = make_ctx([{"input": f"text {i}", "output": f"free text {i}"} for i in range(20)])
    assert LabelIssueCheck().run(generation) == []


def test_embedding_only_features_also_run(make_ctx):
    pairs = topic_pairs(per_class=30)
    pairs[0]["output"] = "database"
    ctx = make_ctx(pairs, task_type="classification", settings={"label_issue": {"features": "embedding"}})
    assert 1 in by_example(LabelIssueCheck().run(ctx))


def test_a_re_run_after_a_small_edit_reuses_the_fold_models(make_ctx, tmp_path):
    pairs = topic_pairs()
    pairs[3]["output"] = "graphics"
    first = make_ctx(pairs, task_type="classification")
    first.cache_dir = tmp_path
    assert 4 in by_example(LabelIssueCheck().run(first))
    assert "label_issue_reused" not in first.notes

    pairs[50]["input"] = "a tool for render shader pixel texture colour"   # still graphics
    pairs[10] = {"input": "a tool for router packet firewall dns proxy", "output": "database"}  # a new flip
    second = make_ctx(pairs, task_type="classification")
    second.cache_dir = tmp_path
    found = by_example(LabelIssueCheck().run(second))
    assert second.notes["label_issue_reused"] == len(pairs) - 2
    assert {4, 11} <= set(found) and 51 not in found

    many = make_ctx(pairs, task_type="classification", settings={"label_issue": {"reuse_max_changed": 0.0}})
    many.cache_dir = tmp_path
    pairs[20]["input"] += " router"
    LabelIssueCheck().run(make_ctx(pairs, task_type="classification"))  # no cache dir: nothing reused
    LabelIssueCheck().run(many)
    assert "label_issue_reused" not in many.notes


def test_sampled_training_rows_still_find_flips_and_reuse_on_re_analysis(make_ctx, tmp_path):
    """The large-dataset path, forced on small data: each fold learns from a sample of its training rows."""
    pairs = topic_pairs(per_class=60)
    flipped = {5: "graphics", 70: "database", 150: "network"}
    for position, wrong in flipped.items():
        pairs[position]["output"] = wrong
    settings = {"label_issue": {"max_train_rows": 100, "model": "sgd"}}  # of 144 per fold; SGD as at scale
    ctx = make_ctx(pairs, task_type="classification", settings=settings)
    ctx.cache_dir = tmp_path
    found = by_example(LabelIssueCheck().run(ctx))
    assert len({p + 1 for p in flipped} & set(found)) >= 2  # 100 training rows: most flips
    assert len(set(found) - {p + 1 for p in flipped}) <= 6
    assert all(len(model.classes_) == 3 for model in LabelIssueCheck()._load(tmp_path)["models"])
    # Re-analysis after one edit: reused, the edited pair predicted by its fold's model.
    pairs[7]["input"] += " router"
    again = make_ctx(pairs, task_type="classification", settings=settings)
    again.cache_dir = tmp_path
    assert set(found) <= set(by_example(LabelIssueCheck().run(again))) | {8}
    assert again.notes["label_issue_reused"] == len(pairs) - 1


@pytest.mark.parametrize("model, expected", [("sgd", "SGDClassifier"), ("lbfgs", "LogisticRegression"),
                                             ("auto", "LogisticRegression")])  # auto: lbfgs on a few hundred
def test_each_model_finds_a_flip(make_ctx, tmp_path, model, expected):
    pairs = topic_pairs()
    pairs[3]["output"] = "graphics"
    ctx = make_ctx(pairs, task_type="classification", settings={"label_issue": {"model": model}})
    ctx.cache_dir = tmp_path
    assert 4 in by_example(LabelIssueCheck().run(ctx))
    assert type(LabelIssueCheck()._load(tmp_path)["models"][0]).__name__ == expected


def test_auto_picks_lbfgs_for_a_few_hundred_pairs_and_sgd_above():
    from app.checks.label_issue import LBFGS_AUTO_MAX_ROWS, LabelIssueSettings, model_kind

    auto = LabelIssueSettings()
    assert model_kind(auto, LBFGS_AUTO_MAX_ROWS) == "lbfgs" and model_kind(auto, LBFGS_AUTO_MAX_ROWS + 1) == "sgd"
    assert model_kind(LabelIssueSettings(model="sgd"), 10) == "sgd"


def test_n_grams_of_a_single_text_are_not_features():
    from app.checks.label_issue import TextFeatures

    featurizer = TextFeatures().fit(["alpha beta", "alpha gamma", "alpha beta delta"])
    part = featurizer.text_part(["alpha beta", "gamma delta"])
    # kept: alpha, beta, "alpha beta" (in two texts each); gamma, delta and the other pairs are in one text only
    assert len(featurizer.columns) == 3 and part[0].nnz == 3 and part[1].nnz == 0
