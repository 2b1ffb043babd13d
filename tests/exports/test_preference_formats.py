"""The preference export formats: records, bytes, round trip through the importer, selection and splits."""

import io

import orjson
import pytest

from app.config import get_settings
from app.errors import InvalidInput
from app.exports import FORMATS, ExportRow, ExportRows
from app.exports.files import encode_lines
from app.importers import ParsedPair, iter_pairs, open_source
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder, preview_split_counts

PAIR = ExportRow(id=1, system=None, input="Describe the package zsh", output="A shell with many features.",
                 history=None, label=None, weight=None, status="pending", input_hash="", rejected="A shell.")
RICH = PAIR._replace(id=2, system="Be precise.", history=[{"role": "user", "content": "Hi"},
                                                          {"role": "assistant", "content": "Hello"}])
KTO = PAIR._replace(id=3, rejected=None, kto_label=False)
PREFERENCE_FORMATS = ["trl_preference", "openai_dpo", "kto"]


def records(name, rows):
    columns = ExportRows.from_rows(rows)
    return [orjson.loads(line) for chunk in encode_lines(columns, FORMATS[name].encoder(columns))
            for line in chunk.splitlines()]


def test_trl_preference_standard_and_conversational():
    assert records("trl_preference", [PAIR]) == [{"prompt": PAIR.input, "chosen": PAIR.output,
                                                  "rejected": PAIR.rejected}]
    plain, rich = records("trl_preference", [PAIR, RICH])
    assert plain["prompt"] == [{"role": "user", "content": PAIR.input}]
    assert rich["prompt"] == [{"role": "system", "content": "Be precise."}, *RICH.history,
                              {"role": "user", "content": PAIR.input}]
    assert rich["chosen"] == [{"role": "assistant", "content": PAIR.output}]
    assert rich["rejected"] == [{"role": "assistant", "content": PAIR.rejected}]


def test_openai_dpo_record():
    [record] = records("openai_dpo", [RICH])
    assert record["input"]["messages"][0] == {"role": "system", "content": "Be precise."}
    assert record["input"]["messages"][-1] == {"role": "user", "content": PAIR.input}
    assert record["preferred_output"] == [{"role": "assistant", "content": PAIR.output}]
    assert record["non_preferred_output"] == [{"role": "assistant", "content": PAIR.rejected}]


def test_kto_writes_a_pair_as_two_lines_and_an_unpaired_example_as_one():
    assert records("kto", [PAIR, KTO]) == [
        {"prompt": PAIR.input, "completion": PAIR.output, "label": True},
        {"prompt": PAIR.input, "completion": PAIR.rejected, "label": False},
        {"prompt": PAIR.input, "completion": PAIR.output, "label": False}]


@pytest.mark.parametrize("name", PREFERENCE_FORMATS)
def test_lines_are_the_bytes_of_the_records(name):
    rows = [PAIR._replace(id=i, input=text, output=text[::-1] or "x", rejected=text + "!")
            for i, text in enumerate(["", 'quote " \\', "new\nline", "\ue000winnow input\ue000", "👋🏽"])]
    columns = ExportRows.from_rows(rows)
    encode = FORMATS[name].encoder(columns)
    expected = []
    for row in rows:
        record = encode(row)
        expected.append(b"".join(orjson.dumps(r) + b"\n" for r in (record if isinstance(record, list) else [record])))
    assert encode_lines(columns, encode) == expected


PREFERENCE_ROWS = [
    {"input": "Describe the package zsh", "output": "Z shell, a powerful command interpreter.", "rejected": "shell"},
    {"input": "Describe the package vim", "output": "Vi IMproved, an enhanced vi editor.", "rejected": "editor",
     "system": "Be precise.", "history": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
    {"input": "Describe the package curl", "output": "command line tool for transferring data with URL syntax",
     "kto_label": True},
] + [{"input": f"Describe the package pkg{i}", "output": f"Package number {i}, a useful tool.",
      "rejected": f"Package {i}."} for i in range(20)]


def export(session, dataset_id, **params):
    return create_export(session, dataset_id, ExportParams(exclude_checks=[], **params), get_settings())


def exported_body(made) -> bytes:
    folder = export_folder(get_settings(), made)
    return b"".join((folder / f"{split}.jsonl").read_bytes() for split in ("train", "validation", "test"))


@pytest.mark.parametrize("name", PREFERENCE_FORMATS)
def test_exports_import_back_as_the_same_pairs(name, session, dataset_with):
    dataset, _ = dataset_with(PREFERENCE_ROWS, name=f"pref-{name}", task_type="preference")
    made = export(session, dataset.id, format=name)
    pairs = list(iter_pairs(open_source(io.BytesIO(exported_body(made)), filename="export.jsonl")))
    assert all(isinstance(p, ParsedPair) for p in pairs), pairs
    got = {(p.system, p.input, p.output, p.rejected, p.kto_label, str(p.history)) for p in pairs}
    if name == "kto":
        want = set()
        for r in PREFERENCE_ROWS:
            key = (r.get("system"), r["input"], str(r.get("history")))
            if "rejected" in r:
                want |= {(key[0], key[1], r["output"], None, True, key[2]),
                         (key[0], key[1], r["rejected"], None, False, key[2])}
            else:
                want.add((key[0], key[1], r["output"], None, r["kto_label"], key[2]))
        assert got == want
        assert sum(made.manifest["files"][f"{s}.jsonl"]["rows"] for s in ("train", "validation", "test")) == 45
    else:
        assert got == {(r.get("system"), r["input"], r["output"], r["rejected"], None, str(r.get("history")))
                       for r in PREFERENCE_ROWS if "rejected" in r}
        assert made.manifest["excluded"]["unpaired"] == 1  # the KTO example has no rejected side
    assert made.manifest["format"]["name"] == name and made.manifest["dataset"]["task_type"] == "preference"
    assert (export_folder(get_settings(), made) / "README.md").read_text().count(name) >= 1


def test_a_preference_format_on_an_sft_dataset_is_refused(session, dataset_with):
    dataset, _ = dataset_with([{"input": "q", "output": "a"}])
    with pytest.raises(InvalidInput, match="preference"):
        export(session, dataset.id, format="trl_preference")
    with pytest.raises(InvalidInput, match="preference"):
        preview_split_counts(session, dataset.id, ExportParams(format="kto"))


def test_an_sft_format_exports_the_chosen_answers(session, dataset_with):
    dataset, _ = dataset_with(PREFERENCE_ROWS, name="pref-sft", task_type="preference")
    body = exported_body(export(session, dataset.id, format="trl_prompt_completion"))
    completions = {orjson.loads(line)["completion"][0]["content"] for line in body.splitlines()}
    assert completions == {r["output"] for r in PREFERENCE_ROWS}


def test_all_pairs_of_a_prompt_and_its_near_duplicates_share_a_split(session, dataset_with, add_duplicate_findings):
    rows = [{"input": f"Describe the package p{i}", "output": f"long answer {i}", "rejected": f"short {i}"}
            for i in range(40)]
    # Three pairs of one prompt (a rated record with a margin), and a near-duplicate prompt of it.
    rows += [{"input": "Describe the package p0", "output": f"another answer {k}", "rejected": f"worse {k}"}
             for k in range(3)]
    rows += [{"input": "Describe the package p0 please", "output": "answer", "rejected": "worse"}]
    dataset, ids = dataset_with(rows, name="pref-groups", task_type="preference")
    add_duplicate_findings(dataset.id, ids[0], ids[40:43])
    add_duplicate_findings(dataset.id, ids[0], [ids[43]], check="near_duplicate")
    for seed in range(5):
        manifest = export(session, dataset.id, format="trl_preference", seed=seed).manifest
        split_of = {eid: s for s, members in manifest["example_ids"].items() for eid in members}
        # keep_one drops no pair: same prompt, different answers are different pairs
        assert len(split_of) == 44 and manifest["excluded"]["dedupe"] == 0
        assert len({split_of[ids[i]] for i in (0, 40, 41, 42, 43)}) == 1


def test_keep_one_drops_a_repeated_pair_only(session, dataset_with, add_duplicate_findings):
    rows = [{"input": "Describe the package p", "output": "good", "rejected": "bad"},
            {"input": "describe the package  P", "output": "GOOD", "rejected": "bad"},
            {"input": "Describe the package p", "output": "good", "rejected": "other"}]
    dataset, ids = dataset_with(rows, name="pref-dedupe", task_type="preference")
    add_duplicate_findings(dataset.id, ids[0], ids[1:])
    manifest = export(session, dataset.id, format="trl_preference").manifest
    assert manifest["excluded"]["dedupe"] == 1 and manifest["counts"]["total"] == 2


def test_files_load_with_the_datasets_library_offline(session, dataset_with, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    dataset, _ = dataset_with(PREFERENCE_ROWS, name="pref-load", task_type="preference")
    for name in PREFERENCE_FORMATS:
        folder = export_folder(get_settings(), export(session, dataset.id, format=name))
        files = {s: str(folder / f"{s}.jsonl") for s in ("train", "validation", "test")
                 if (folder / f"{s}.jsonl").stat().st_size}
        loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / name))
        assert set(loaded["train"].column_names) == set(FORMATS[name].keys), name
