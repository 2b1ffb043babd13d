"""Every export format loads in the libraries users train with: `datasets.load_dataset` for every
format, and one TRL `SFTTrainer` step (tiny random model, local tokenizer, no hub) for those TRL reads."""

import json
import math
import shutil

import datasets
import pytest

from app.config import get_settings
from app.exports import FORMATS
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder
from tests.exports.trainer_kit import tiny_model, tiny_tokenizer

datasets.disable_progress_bars()

CALL = {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}
TOOL = {"type": "function", "function": {"name": "weather", "description": "Weather in a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
ROWS = [
    *({"input": f"What is {i}+{i}?", "output": f"{2 * i}", "label": "math"} for i in range(24)),
    {"input": "Say hi.", "output": "hi", "system": "Be terse.", "label": "chat"},
    {"input": "And 3+3?", "output": "6", "label": "math", "weight": 0.0,
     "history": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "5", "weight": 0}]},
    {"input": "Thanks, and tomorrow?", "output": "Rain.", "label": "chat", "meta": {"tools": [TOOL]},
     "history": [{"role": "user", "content": "Weather in Paris?"},
                 {"role": "assistant", "content": "", "tool_calls": [CALL]},
                 {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
                 {"role": "assistant", "content": "It is sunny."}]},
]
TRL_FORMATS = ("openai_chat", "trl_messages", "trl_prompt_completion")
# The SFT formats (preference formats have their own tests, on preference datasets).
SFT_FORMATS = [name for name, declared in FORMATS.items() if "generation" in declared.task_types]


def export_to(session, dataset_id, name, **params):
    made = create_export(session, dataset_id, ExportParams(format=name, exclude_checks=[], **params), get_settings())
    return made, export_folder(get_settings(), made)


def split_files(made, folder) -> dict[str, str]:
    return {name.removesuffix(".jsonl"): str(folder / name) for name in made.manifest["files"] if name.endswith(".jsonl")}


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


# SFT formats; the preference formats load and train in tests/exports/test_preference_formats.py and _trl.py.
@pytest.mark.parametrize("name", SFT_FORMATS)
def test_every_export_loads_in_datasets_by_files_and_by_its_card(name, session, dataset_with, tmp_path):
    dataset, _ = dataset_with(ROWS, name=f"load-{name}")
    made, folder = export_to(session, dataset.id, name)
    by_files = datasets.load_dataset("json", data_files=split_files(made, folder), cache_dir=str(tmp_path / "cache"))
    by_card = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    for loaded in (by_files, by_card):
        assert {split: len(rows) for split, rows in loaded.items()} == {
            split: figures["total"] for split, figures in made.manifest["counts"]["splits"].items() if figures["total"]}
        assert all(set(rows.column_names) == set(made.manifest["format"]["keys"]) for rows in loaded.values())
    assert set(made.manifest["format"]["keys"]) - set(FORMATS[name].keys) == (
        {"tools"} if name in TRL_FORMATS else set())


@pytest.mark.parametrize("name", TRL_FORMATS)
def test_trl_trains_one_step_on_the_export(name, session, dataset_with, tmp_path, tokenizer):
    from trl import SFTConfig, SFTTrainer

    dataset, _ = dataset_with(ROWS, name=f"trl-{name}")
    made, folder = export_to(session, dataset.id, name, splits={"train": 1.0})
    train = datasets.load_dataset("json", data_files=split_files(made, folder), cache_dir=str(tmp_path / "c"))["train"]
    config = SFTConfig(output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4, report_to=[],
                       use_cpu=True, save_strategy="no", max_length=256, logging_steps=1,
                       assistant_only_loss=name == "trl_messages")
    trainer = SFTTrainer(model=tiny_model(tokenizer), args=config, train_dataset=train, processing_class=tokenizer)
    result = trainer.train()
    assert math.isfinite(result.training_loss)
    prepared = trainer.train_dataset
    assert len(prepared) == len(ROWS), prepared.column_names
    if name == "trl_prompt_completion":
        # TRL trains on what follows the prompt's tokens: the prompt rendered alone must be a prefix of the
        # whole (else TRL warns "The tokenized prompt is not a prefix ..." and trains on a wrong context).
        for raw, row in zip(train, prepared):
            tools = json.loads(raw["tools"]) if raw["tools"] else None
            prompt_ids = tokenizer.apply_chat_template(raw["prompt"], tools=tools, add_generation_prompt=True,
                                                       tokenize=True, return_dict=True)["input_ids"]
            assert row["input_ids"][:len(prompt_ids)] == prompt_ids
            ids = row["input_ids"]
            assert row["labels"] == [-100] * len(prompt_ids) + ids[len(prompt_ids):]  # TRL's completion-only loss
            trained = tokenizer.decode([label for label in row["labels"] if label != -100])
            assert trained.removesuffix("\n") == raw["completion"][0]["content"] + "<|im_end|>"


def test_tool_calls_reach_the_trainer_as_calls_not_empty_turns(session, dataset_with, tokenizer):
    dataset, _ = dataset_with(ROWS, name="tools")
    for name in ("openai_chat", "trl_messages"):
        made, folder = export_to(session, dataset.id, name, splits={"train": 1.0})
        lines = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
        (line,) = [line for line in lines if any(m["role"] == "tool" for m in line["messages"])]
        call, result = line["messages"][1], line["messages"][2]
        assert call["tool_calls"] == [CALL] and result == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}
        assert call["content"] is None if name == "openai_chat" else call["content"] == ""
        tools = line["tools"] if name == "openai_chat" else json.loads(line["tools"])
        assert tools == [TOOL]
        assert all(other["tools"] is None for other in lines if other is not line)
        rendered = tokenizer.apply_chat_template(line["messages"], tools=tools, tokenize=False)
        assert '<tool_call>{"name": "weather"' in rendered and "sunny" in rendered and "Weather in a city" in rendered
    made, folder = export_to(session, dataset.id, "sharegpt", splits={"train": 1.0})
    lines = [json.loads(line) for line in (folder / "train.jsonl").read_text().splitlines()]
    (line,) = [line for line in lines if any(t["from"] == "observation" for t in line["conversations"])]
    assert [t["from"] for t in line["conversations"]] == ["human", "function_call", "observation", "gpt", "human", "gpt"]
    assert json.loads(line["conversations"][1]["value"]) == {"name": "weather", "arguments": {"city": "Paris"}}


def test_weights_on_a_few_late_lines_still_give_one_schema_and_a_weight_on_every_answer(
        session, dataset_with, tmp_path):
    rows = [{"input": f"question {i}", "output": f"answer {i}"} for i in range(400)]
    rows += [{"input": "late one", "output": "skip me", "weight": 0.0}, {"input": "late two", "output": "x", "weight": 1.0}]
    dataset, _ = dataset_with(rows, name="weights")
    made, folder = export_to(session, dataset.id, "openai_chat", splits={"train": 1.0})
    # Small blocks, so that the schema is read from the first lines, as with a 30,000-line file.
    train = datasets.load_dataset("json", data_files=split_files(made, folder), cache_dir=str(tmp_path / "c"),
                                  chunksize=2048)["train"]
    weights = [[m.get("weight") for m in row["messages"] if m["role"] == "assistant"] for row in train]
    assert sorted(w for (w,) in weights) == [0] + [1] * 401
    assert made.manifest["format_checks"]["passed"], made.manifest["format_checks"]
    for name in ("trl_messages", "trl_prompt_completion"):
        made, _ = export_to(session, dataset.id, name, splits={"train": 1.0})
        (lost,) = made.manifest["format"]["not_carried"]
        assert lost.startswith("per-message weights")


def test_a_second_export_into_a_folder_of_the_same_name_loads_fresh(session, dataset_with, tmp_path):
    first, _ = dataset_with([{"input": f"old {i}", "output": "old"} for i in range(12)], name="stale-a")
    second, _ = dataset_with([{"input": f"new {i}", "output": "new"} for i in range(12)], name="stale-b")
    cache, target = str(tmp_path / "cache"), tmp_path / "my-export"
    loaded = []
    for dataset in (first, second):
        made, folder = export_to(session, dataset.id, "trl_messages", splits={"train": 1.0})
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target)  # the user unzips each export into the same folder
        loaded.append(datasets.load_dataset(str(target), cache_dir=cache)["train"][0]["messages"][1]["content"])
    assert loaded == ["old", "new"]


def test_an_empty_split_has_no_file_and_the_files_load(session, dataset_with, tmp_path):
    dataset, _ = dataset_with([{"input": f"q {i}", "output": "a"} for i in range(3)], name="tiny")
    made, folder = export_to(session, dataset.id, "openai_chat")
    files = split_files(made, folder)
    assert set(files) == {s for s, f in made.manifest["counts"]["splits"].items() if f["total"]}
    assert sorted(p.name for p in folder.glob("*.jsonl")) == sorted(f"{s}.jsonl" for s in files)
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "c"))
    assert sum(map(len, loaded.values())) == 3
    assert made.manifest["warnings"]
    checks = made.manifest["format_checks"]
    assert not checks["passed"] and checks["violations_by_rule"] == {"min_examples": 1}
