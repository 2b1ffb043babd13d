"""create_export / preview on a real database: selection, dedupe, leakage, manifest, files."""

import hashlib
import json

import numpy as np
import pytest

from app.config import get_settings
from app.errors import InvalidInput
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder, preview_split_counts, to_public


def labelled_rows(sizes: dict[str, int]) -> list[dict]:
    return [{"input": f"{label} question number {i}", "output": label, "label": label}
            for label, n in sizes.items() for i in range(n)]


def export(session, dataset_id, **params):
    return create_export(session, dataset_id, ExportParams(**params), get_settings())


def test_planted_duplicates_stay_in_one_split_and_manifest_reports_no_leakage(
        session, dataset_with, add_duplicate_findings):
    rows = labelled_rows({"pos": 60, "neg": 30})
    # Ten exact copies (same normalised input) that the analysis flagged, and five that it never saw.
    rows += [{"input": f"POS question   number {i}", "output": "pos", "label": "pos"} for i in range(10)]
    rows += [{"input": f"neg QUESTION number {i} ", "output": "neg", "label": "neg"} for i in range(5)]
    dataset, ids = dataset_with(rows, task_type="classification")
    for i in range(10):
        add_duplicate_findings(dataset.id, ids[i], [ids[90 + i]])
    made = export(session, dataset.id, dedupe="keep_all", seed=1)
    manifest = made.manifest
    split_of = {eid: s for s, members in manifest["example_ids"].items() for eid in members}
    assert len(split_of) == 105
    for i in range(10):
        assert split_of[ids[i]] == split_of[ids[90 + i]]
    for i in range(5):
        assert split_of[ids[60 + i]] == split_of[ids[100 + i]]
    assert manifest["leakage"]["passed"] is True
    assert manifest["leakage"]["exact_duplicates"] == {"validation": 0, "test": 0}
    assert manifest["stratification"]["within_one_of_target"] is True


def test_keep_one_keeps_the_accepted_else_the_longest(session, dataset_with, add_duplicate_findings):
    rows = labelled_rows({"a": 20})
    rows += [{"input": "dup one", "output": "short", "label": "a"},
             {"input": "dup one!", "output": "a much longer answer", "label": "a"},
             {"input": "dup two", "output": "a much longer answer", "label": "a"},
             {"input": "dup two?", "output": "ok", "label": "a", "status": "accepted"}]
    dataset, ids = dataset_with(rows)
    add_duplicate_findings(dataset.id, ids[20], [ids[21]], check="near_duplicate")
    add_duplicate_findings(dataset.id, ids[22], [ids[23]], check="near_duplicate")
    manifest = export(session, dataset.id).manifest
    exported = {eid for members in manifest["example_ids"].values() for eid in members}
    assert ids[21] in exported and ids[20] not in exported  # longest output
    assert ids[23] in exported and ids[22] not in exported  # accepted
    assert manifest["excluded"]["dedupe"] == 2 and manifest["counts"]["total"] == 22


def test_dismissed_duplicate_findings_do_not_dedupe(session, dataset_with, add_duplicate_findings):
    dataset, ids = dataset_with(labelled_rows({"a": 10}))
    add_duplicate_findings(dataset.id, ids[0], [ids[1]], status="dismissed")
    assert export(session, dataset.id).manifest["excluded"]["dedupe"] == 0


def test_exclusions_by_status_and_open_finding_are_counted(session, dataset_with, add_finding):
    rows = labelled_rows({"a": 20})
    rows[0]["status"] = "rejected"
    rows[1]["status"] = "rejected"
    dataset, ids = dataset_with(rows)
    add_finding(dataset.id, ids[2], "format")
    add_finding(dataset.id, ids[3], "label_issue")
    add_finding(dataset.id, ids[3], "format")
    add_finding(dataset.id, ids[4], "label_issue", status="dismissed")  # dismissed: kept
    add_finding(dataset.id, ids[5], "outlier")  # not excluded by default: kept
    manifest = export(session, dataset.id).manifest
    assert manifest["excluded"]["by_status"] == {"rejected": 2}
    assert manifest["excluded"]["by_check"] == {"format": 2, "label_issue": 1}
    assert manifest["excluded"]["total"] == 4 and manifest["counts"]["total"] == 16
    exported = {eid for members in manifest["example_ids"].values() for eid in members}
    assert {ids[4], ids[5]} <= exported and not {ids[0], ids[1], ids[2], ids[3]} & exported
    manifest = export(session, dataset.id, exclude_checks=[], include_status=["pending", "rejected"]).manifest
    assert manifest["counts"]["total"] == 20


def test_near_duplicates_found_only_by_embeddings_are_pulled_into_train(session, dataset_with, add_embeddings):
    dataset, ids = dataset_with(labelled_rows({"a": 40}))
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 16)).astype(np.float32)
    for i in range(1, 40, 2):  # every odd example nearly repeats the even one before it
        vectors[i] = vectors[i - 1] + 0.01 * rng.normal(size=16)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    add_embeddings(ids, vectors)
    manifest = export(session, dataset.id, seed=3).manifest
    leakage = manifest["leakage"]
    assert leakage["near_check"] == "done" and leakage["embedding_model"] == "hashing"
    assert leakage["passed"] is True and leakage["near_duplicates"] == {"validation": 0, "test": 0}
    assert leakage["resplits"] >= 1  # the first split leaked; the pairs were joined and split again
    split_of = {eid: s for s, members in manifest["example_ids"].items() for eid in members}
    for i in range(1, 40, 2):
        assert split_of[ids[i]] == split_of[ids[i - 1]]


def test_manifest_files_and_card(session, dataset_with, add_analysis_job):
    dataset, _ = dataset_with(labelled_rows({"x": 12, "y": 8}), task_type="classification")
    job_id = add_analysis_job(dataset.id)
    made = export(session, dataset.id, format="alpaca", epochs=2)
    folder = export_folder(get_settings(), made)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == json.loads(json.dumps(made.manifest))
    assert manifest["analysis_job_id"] == job_id and manifest["seed"] == 42
    assert manifest["counts"]["splits"]["train"]["labels"] == {"x": 10, "y": 6}  # 0.8 x 12 = 9.6, 0.8 x 8 = 6.4
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "README.md"):
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == manifest["files"][name]["sha256"]
    train_lines = (folder / "train.jsonl").read_text().splitlines()
    assert len(train_lines) == len(manifest["example_ids"]["train"]) == 16
    assert all(set(json.loads(line)) == {"instruction", "input", "output", "system", "history"} for line in train_lines)
    tokens = manifest["tokens"]
    assert tokens["splits"]["train"]["min"] <= tokens["splits"]["train"]["mean"] <= tokens["splits"]["train"]["max"]
    assert tokens["estimated_training_tokens"] == 2 * tokens["splits"]["train"]["total"] > 0
    card = (folder / "README.md").read_text()
    assert card.startswith(f"---\nconfigs:\n- config_name: export-{made.id}-")
    assert "  default: true\n  data_files:\n  - split: train\n    path: train.jsonl" in card
    assert "- text-classification" in card and "- n<1K" in card and "| x | 10 |" in card


def test_same_seed_gives_identical_files(session, dataset_with):
    dataset, _ = dataset_with(labelled_rows({"a": 30, "b": 10}))
    first, second = export(session, dataset.id, seed=9), export(session, dataset.id, seed=9)
    assert first.manifest["files"]["train.jsonl"] == second.manifest["files"]["train.jsonl"]
    assert first.manifest["example_ids"] == second.manifest["example_ids"]
    assert export(session, dataset.id, seed=10).manifest["example_ids"] != first.manifest["example_ids"]


def test_preview_matches_the_export_counts(session, dataset_with):
    dataset, _ = dataset_with(labelled_rows({"a": 25, "b": 7, "c": 1}))
    params = ExportParams(splits={"train": 0.6, "validation": 0.2, "test": 0.2}, seed=4)
    preview = preview_split_counts(session, dataset.id, params)
    made = create_export(session, dataset.id, params, get_settings())
    assert preview.splits == made.manifest["counts"]["splits"] and preview.total == 33
    assert preview.within_one_of_target
    for split, ratio in params.splits.items():
        assert abs(preview.splits[split]["total"] - ratio * 33) <= 1


def test_nothing_left_to_export_is_invalid_input(session, dataset_with):
    dataset, _ = dataset_with([{"input": "q", "output": "a", "status": "rejected"}])
    with pytest.raises(InvalidInput):
        export(session, dataset.id)


def test_history_system_and_weight_survive_the_database_read(session, dataset_with):
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    dataset, _ = dataset_with([{"input": "and now?", "output": "now this", "system": "Be kind.",
                                  "history": history, "weight": 0.0}]
                                + [{"input": f"plain {i}", "output": "x"} for i in range(4)])
    made = export(session, dataset.id, splits={"train": 1.0})
    folder = export_folder(get_settings(), made)
    lines = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    rich = next(line for line in lines if line["messages"][0]["role"] == "system")
    # One weighted pair: every assistant turn of every line carries a 0/1 weight, 1 where none was set.
    assert rich["messages"] == [{"role": "system", "content": "Be kind."}, history[0], {**history[1], "weight": 1},
                                {"role": "user", "content": "and now?"},
                                {"role": "assistant", "content": "now this", "weight": 0}]
    plain = [line["messages"] for line in lines if len(line["messages"]) == 2]
    assert len(plain) == 4 and all(messages[-1]["weight"] == 1 for messages in plain)


def test_a_dataset_of_one_example_exports_a_train_split_only(session, dataset_with):
    dataset, ids = dataset_with([{"input": "only one", "output": "yes", "label": "yes"}])
    made = export(session, dataset.id)
    assert made.manifest["example_ids"] == {"train": ids, "validation": [], "test": []}
    folder = export_folder(get_settings(), made)
    # Files, manifest and card agree: an empty split has no file (`datasets` refuses a file with no data).
    assert not (folder / "validation.jsonl").exists() and not (folder / "test.jsonl").exists()
    assert set(made.manifest["files"]) == {"train.jsonl", "README.md"}
    assert to_public(made).files == ["train.jsonl", "manifest.json", "README.md", "all.zip"]
    assert any("validation split is empty" in w for w in made.manifest["warnings"])
    assert any("train split has only 1 example" in w for w in made.manifest["warnings"])
    card = (folder / "README.md").read_text()
    assert "split: train" in card and "split: test" not in card and "split: validation" not in card
    assert made.manifest["tokens"]["splits"]["test"] == {"examples": 0, "min": 0, "mean": 0.0, "p95": 0.0,
                                                         "max": 0, "total": 0}


def test_pairs_are_taken_in_id_order_whatever_order_the_database_returns(session, dataset_with):
    # The status index makes SQLite return rows grouped by status; the export must not depend on that.
    statuses = ["pending", "accepted", "rejected", "accepted", "pending", "accepted", "pending", "accepted"]
    dataset, ids = dataset_with([{"input": f"question {i}", "output": f"answer {i}", "status": status}
                                 for i, status in enumerate(statuses)])
    made = export(session, dataset.id, splits={"train": 1.0}, seed=5)
    kept = [i for i, status in zip(ids, statuses) if status != "rejected"]
    shuffled = np.random.default_rng(5).permutation(len(kept)).tolist()  # the files' seeded shuffle
    assert made.manifest["example_ids"]["train"] == [kept[i] for i in shuffled]


def test_the_garbage_collector_is_paused_only_during_the_export(session, dataset_with):
    import gc

    dataset, _ = dataset_with(labelled_rows({"a": 5}))
    assert gc.isenabled()
    export(session, dataset.id)
    assert gc.isenabled()
    gc.disable()  # paused by someone else: left as it was
    try:
        export(session, dataset.id)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_duplicate_edges_are_integer_duplicate_of_of_findings_not_dismissed(session, dataset_with):
    from app.models import Finding
    from app.services.export_selection import duplicate_edges

    dataset, ids = dataset_with(labelled_rows({"a": 8}))
    details = [{"duplicate_of": ids[0]}, {"duplicate_of": str(ids[0])}, {"duplicate_of": 1.5}, {"duplicate_of": True},
               {"duplicate_of": None}, {"similarity": 0.99}, {"duplicate_of": ids[1]}]
    checks = ["exact_duplicate", "near_duplicate", "near_duplicate", "exact_duplicate", "near_duplicate",
              "near_duplicate", "format"]
    for example_id, check, detail in zip(ids[1:], checks, details):
        session.add(Finding(dataset_id=dataset.id, example_id=example_id, check=check, score=1.0, details=detail))
    session.add(Finding(dataset_id=dataset.id, example_id=ids[7], check="near_duplicate", score=1.0,
                        status="dismissed", details={"duplicate_of": ids[0]}))
    session.add(Finding(dataset_id=dataset.id, example_id=ids[6], check="near_duplicate", score=1.0,
                        status="resolved", details={"duplicate_of": ids[5], "members": [ids[5], ids[6]]}))
    session.flush()
    assert sorted(map(tuple, duplicate_edges(session, dataset.id))) == [(ids[1], ids[0]), (ids[6], ids[5])]
