"""Each format's lines carry exactly its keys and come back through the importer as the same pairs."""

import io

import orjson
import pytest

from app.exports import FORMATS, ExportRow
from app.importers import ParsedPair, iter_pairs, open_source

PLAIN = ExportRow(id=1, system=None, input="What is 2+2?", output="4", history=None, label=None, weight=None,
                  status="pending", input_hash="h1")
RICH = ExportRow(id=2, system="Be terse.", input="And 3+3?", output="6",
                 history=[{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
                 label="math", weight=1.0, status="accepted", input_hash="h2")

ROUND_TRIP_FORMAT = {"openai_chat": "messages", "trl_messages": "messages",
                     "trl_prompt_completion": "prompt_completion", "alpaca": "alpaca", "sharegpt": "sharegpt"}


def lines_of(format_name: str, rows: list[ExportRow]) -> list[dict]:
    encode = FORMATS[format_name].encoder(rows)
    return [orjson.loads(orjson.dumps(encode(r))) for r in rows]


def reimport(records: list[dict], format_name: str) -> list[ParsedPair]:
    body = b"".join(orjson.dumps(r) + b"\n" for r in records)
    pairs = list(iter_pairs(open_source(io.BytesIO(body), filename="x.jsonl", format=format_name)))
    assert all(isinstance(p, ParsedPair) for p in pairs), pairs
    return pairs


def test_registry_lists_the_five_formats():
    assert set(FORMATS) == {"openai_chat", "trl_prompt_completion", "trl_messages", "alpaca", "sharegpt"}


@pytest.mark.parametrize("name, keys", [("openai_chat", {"messages"}), ("trl_messages", {"messages"}),
                                        ("trl_prompt_completion", {"prompt", "completion"}),
                                        ("alpaca", {"instruction", "input", "output"}),
                                        ("sharegpt", {"conversations"})])
def test_plain_pair_lines_carry_exactly_the_format_keys(name, keys):
    (record,) = lines_of(name, [PLAIN])
    assert set(record) == keys


@pytest.mark.parametrize("name", list(FORMATS))
def test_plain_pairs_round_trip_through_the_importer(name):
    (pair,) = reimport(lines_of(name, [PLAIN]), ROUND_TRIP_FORMAT[name])
    assert (pair.system, pair.input, pair.output, pair.history) == (None, PLAIN.input, PLAIN.output, None)


@pytest.mark.parametrize("name", ["openai_chat", "trl_messages", "sharegpt"])
def test_chat_formats_round_trip_system_and_history(name):
    pairs = reimport(lines_of(name, [PLAIN, RICH]), ROUND_TRIP_FORMAT[name])
    assert [(p.system, p.input, p.output, p.history) for p in pairs] == [
        (None, PLAIN.input, PLAIN.output, None), (RICH.system, RICH.input, RICH.output, RICH.history)]


def test_openai_chat_restores_history_between_system_and_final_user_turn_with_weight():
    (record,) = lines_of("openai_chat", [RICH])
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert record["messages"][-1] == {"role": "assistant", "content": "6", "weight": 1.0}
    assert all("weight" not in m for m in record["messages"][:-1])
    (plain,) = lines_of("openai_chat", [PLAIN])
    assert "weight" not in plain["messages"][-1]


def test_sharegpt_speakers():
    (record,) = lines_of("sharegpt", [RICH])
    assert [t["from"] for t in record["conversations"]] == ["system", "human", "gpt", "human", "gpt"]
    assert all(set(t) == {"from", "value"} for t in record["conversations"])


def test_prompt_completion_switches_to_conversational_for_the_whole_file_when_needed():
    plain, rich = lines_of("trl_prompt_completion", [PLAIN, RICH])
    assert set(plain) == set(rich) == {"prompt", "completion"}
    assert plain["prompt"] == [{"role": "user", "content": PLAIN.input}]
    assert rich["prompt"][0] == {"role": "system", "content": "Be terse."}
    assert rich["completion"] == [{"role": "assistant", "content": "6"}]


def test_alpaca_adds_system_and_history_columns_only_when_the_export_has_them():
    plain, rich = lines_of("alpaca", [PLAIN, RICH])
    assert set(plain) == set(rich) == {"instruction", "input", "output", "system", "history"}
    assert rich["history"] == [["What is 2+2?", "4"]] and plain["history"] == []
    (pair,) = reimport([{k: rich[k] for k in ("instruction", "input", "output", "system")}], "alpaca")
    assert (pair.system, pair.input, pair.output) == (RICH.system, RICH.input, RICH.output)
