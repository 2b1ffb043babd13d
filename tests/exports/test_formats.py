"""Each format's lines carry exactly its keys and come back through the importer as the same pairs."""

import io

import orjson
import pytest

from app.config import get_settings
from app.exports import FORMATS, ExportRow, ExportRows
from app.exports.files import encode_lines, line_template
from app.importers import ParsedPair, iter_pairs, open_source
from app.schemas.export import ExportParams
from app.services.exports import create_export, export_folder

PLAIN = ExportRow(id=1, system=None, input="What is 2+2?", output="4", history=None, label=None, weight=None,
                  status="pending", input_hash="h1")
RICH = ExportRow(id=2, system="Be terse.", input="And 3+3?", output="6",
                 history=[{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
                 label="math", weight=1.0, status="accepted", input_hash="h2")

ROUND_TRIP_FORMAT = {"openai_chat": "messages", "trl_messages": "messages",
                     "trl_prompt_completion": "prompt_completion", "alpaca": "alpaca", "sharegpt": "sharegpt"}
# What each format's line carries besides input and output (alpaca: LLaMA-Factory's system and history columns).
CARRIES_WEIGHT = {"openai_chat"}


def lines_of(format_name: str, rows: list[ExportRow]) -> list[dict]:
    encode = FORMATS[format_name].encoder(ExportRows.from_rows(rows))
    return [orjson.loads(orjson.dumps(encode(r))) for r in rows]


def reimport(records: list[dict], format_name: str) -> list[ParsedPair]:
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    pairs = list(iter_pairs(open_source(io.BytesIO(body), filename="x.jsonl", format=format_name)))
    assert all(isinstance(p, ParsedPair) for p in pairs), pairs
    return pairs


# The preference formats have their own tests (tests/exports/test_preference_formats.py).
SFT_FORMATS = [name for name, export_format in FORMATS.items() if "generation" in export_format.task_types]


def test_registry_lists_the_five_sft_formats():
    assert set(SFT_FORMATS) == {"openai_chat", "trl_prompt_completion", "trl_messages", "alpaca", "sharegpt"}


@pytest.mark.parametrize("name, keys", [("openai_chat", {"messages"}), ("trl_messages", {"messages"}),
                                        ("trl_prompt_completion", {"prompt", "completion"}),
                                        ("alpaca", {"instruction", "input", "output", "system", "history"}),
                                        ("sharegpt", {"conversations"})])
def test_plain_pair_lines_carry_exactly_the_format_keys(name, keys):
    (record,) = lines_of(name, [PLAIN])
    assert set(record) == keys


@pytest.mark.parametrize("name", SFT_FORMATS)
def test_plain_pairs_round_trip_through_the_importer(name):
    (pair,) = reimport(lines_of(name, [PLAIN]), ROUND_TRIP_FORMAT[name])
    assert (pair.system, pair.input, pair.output, pair.history) == (None, PLAIN.input, PLAIN.output, None)


@pytest.mark.parametrize("name", SFT_FORMATS)
def test_every_format_round_trips_system_history_and_weight_where_it_carries_them(name):
    pairs = reimport(lines_of(name, [PLAIN, RICH]), ROUND_TRIP_FORMAT[name])
    assert [(p.system, p.input, p.output, p.history) for p in pairs] == [
        (None, PLAIN.input, PLAIN.output, None), (RICH.system, RICH.input, RICH.output, RICH.history)]
    # openai_chat: once a pair has a weight every answer carries one, 1 (train) by default.
    assert [p.weight for p in pairs] == ([1.0, RICH.weight] if name in CARRIES_WEIGHT else [None, None])


def test_a_zero_weight_comes_back_from_the_answer_message():
    (pair,) = reimport(lines_of("openai_chat", [RICH._replace(weight=0.0)]), "messages")
    assert pair.weight == 0.0


TRICKY_TEXTS = ["", "plain", 'quote " and \\ backslash', "new\nline\ttab\r", "\x00\x01\x1f control",
                "emoji 👋🏽 and \u2028 \u2029 and e\u0301", "\ue000winnow input\ue000", '"}]},{"messages":[',
                "</script>", "x" * 5000]


@pytest.mark.parametrize("name", SFT_FORMATS)
def test_lines_from_the_template_are_the_bytes_of_the_record(name):
    plain = [PLAIN._replace(id=i, input=a, output=b, label=str(i))
             for i, (a, b) in enumerate(zip(TRICKY_TEXTS, reversed(TRICKY_TEXTS)))]
    for rows in (plain, plain + [RICH]):  # every pair plain (joined in C), and mixed (per pair)
        columns = ExportRows.from_rows(rows)
        encode = FORMATS[name].encoder(columns)
        assert line_template(encode) is not None
        assert encode_lines(columns, encode) == [orjson.dumps(encode(row)) + b"\n" for row in rows]


def test_a_format_without_a_template_still_encodes_every_row():
    def reversed_texts(row: ExportRow) -> dict:
        return {"completion": row.output, "prompt": row.input}  # output first: no template

    rows = ExportRows.from_rows([PLAIN, PLAIN._replace(input="other")])
    assert line_template(reversed_texts) is None
    assert encode_lines(rows, reversed_texts) == [orjson.dumps(reversed_texts(r)) + b"\n" for r in rows]


def test_openai_chat_restores_history_between_system_and_final_user_turn_with_weight():
    (record,) = lines_of("openai_chat", [RICH])
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert record["messages"][-1] == {"role": "assistant", "content": "6", "weight": 1.0}
    assert [m.get("weight") for m in record["messages"][:-1]] == [None, None, 1, None]
    (plain,) = lines_of("openai_chat", [PLAIN])
    assert "weight" not in plain["messages"][-1]


def test_sharegpt_speakers():
    (record,) = lines_of("sharegpt", [RICH])
    assert [t["from"] for t in record["conversations"]] == ["system", "human", "gpt", "human", "gpt"]
    assert all(set(t) == {"from", "value"} for t in record["conversations"])


def test_prompt_completion_is_always_conversational():
    (alone,) = lines_of("trl_prompt_completion", [PLAIN])
    assert alone == {"prompt": [{"role": "user", "content": PLAIN.input}],
                     "completion": [{"role": "assistant", "content": PLAIN.output}]}
    plain, rich = lines_of("trl_prompt_completion", [PLAIN, RICH])
    assert set(plain) == set(rich) == {"prompt", "completion"}
    assert plain["prompt"] == [{"role": "user", "content": PLAIN.input}]
    assert rich["prompt"][0] == {"role": "system", "content": "Be terse."}
    assert rich["completion"] == [{"role": "assistant", "content": "6"}]


def test_alpaca_lines_always_carry_system_and_history():
    (alone,) = lines_of("alpaca", [PLAIN])
    assert alone == {"instruction": PLAIN.input, "input": "", "output": PLAIN.output, "system": "", "history": []}
    plain, rich = lines_of("alpaca", [PLAIN, RICH])
    assert set(plain) == set(rich) == {"instruction", "input", "output", "system", "history"}
    assert rich["history"] == [["What is 2+2?", "4"]] and plain["history"] == []
    (pair,) = reimport([{k: rich[k] for k in ("instruction", "input", "output", "system")}], "alpaca")
    assert (pair.system, pair.input, pair.output, pair.history) == (RICH.system, RICH.input, RICH.output, None)


ROWS_IN_DATABASE = [
    {"input": "plain question", "output": "plain answer"},
    {"input": "weighted question", "output": "weighted answer", "weight": 0.0},
    {"input": "with a system prompt", "output": "ok", "system": "Be terse.", "weight": 1.0},
    {"input": "and 3+3?", "output": "6", "system": "Be terse.",
     "history": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                 {"role": "user", "content": "and 2+3?"}, {"role": "assistant", "content": "5"}]},
    {"input": 'quotes " \\ and\nnewlines', "output": "émoji 👋🏽", "history": [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "reply"}]},
] + [{"input": f"bulk question {i}", "output": f"bulk answer {i}"} for i in range(20)]


@pytest.mark.parametrize("name", SFT_FORMATS)
def test_exported_files_import_back_as_the_same_pairs(name, session, dataset_with):
    dataset, _ = dataset_with(ROWS_IN_DATABASE, name=f"round-trip-{name}")
    made = create_export(session, dataset.id, ExportParams(format=name, exclude_checks=[]), get_settings())
    folder = export_folder(get_settings(), made)
    body = b"".join((folder / f"{split}.jsonl").read_bytes() for split in ("train", "validation", "test"))
    pairs = list(iter_pairs(open_source(io.BytesIO(body), filename="export.jsonl")))  # format detected
    assert all(isinstance(p, ParsedPair) for p in pairs), pairs

    def key(system, input_text, output, history, weight):
        # A weight of 1 is OpenAI's default: a weighted openai_chat export writes it on every answer.
        return (system, input_text, output, history, (1.0 if weight is None else weight) if name in CARRIES_WEIGHT else None)

    assert sorted(map(repr, (key(p.system, p.input, p.output, p.history, p.weight) for p in pairs))) == sorted(
        repr(key(r.get("system"), r["input"], r["output"], r.get("history"), r.get("weight")))
        for r in ROWS_IN_DATABASE)


def test_every_export_format_is_a_declared_object():
    from app.exports import DEFAULT_FORMAT, ExportFormat
    from app.task_types import ALL_TASK_TYPES

    assert DEFAULT_FORMAT in FORMATS
    for name, declared in FORMATS.items():
        assert isinstance(declared, ExportFormat) and declared.name == name and declared.description
        assert declared.keys and set(declared.task_types) <= ALL_TASK_TYPES
