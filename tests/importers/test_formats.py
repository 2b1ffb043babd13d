"""Parsing only (no database): every format, auto detection and the per-line errors."""

import io
import json

import pytest

from app.importers import LineError, ParsedPair, iter_pairs, open_source


def parse(body: str | bytes, format: str = "auto", filename: str | None = None, content_type: str | None = None):
    data = body.encode() if isinstance(body, str) else body
    source = open_source(io.BytesIO(data), filename=filename, content_type=content_type, format=format)
    items = list(iter_pairs(source))
    return items, source.format


def jsonl(*records) -> str:
    return "\n".join(json.dumps(r) for r in records) + "\n"


def only_pair(body, format="auto") -> ParsedPair:
    items, _ = parse(body, format)
    assert len(items) == 1 and isinstance(items[0], ParsedPair), items
    return items[0]


def test_prompt_completion():
    pair = only_pair(jsonl({"prompt": "Capital of France?", "completion": "Paris", "id": 7, "label": "geo",
                            "weight": 1, "metadata": {"src": "quiz"}, "extra": 1}))
    assert (pair.input, pair.output, pair.external_id, pair.label, pair.weight) == ("Capital of France?", "Paris",
                                                                                   "7", "geo", 1.0)
    # Unknown keys are kept, in metadata.
    assert pair.metadata == {"src": "quiz", "extra": 1}


def test_messages_with_system_and_history():
    pair = only_pair(jsonl({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
    ]}))
    assert pair.system == "Be brief."
    assert (pair.input, pair.output) == ("2+2?", "4")
    assert pair.history == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]


def test_messages_weight_comes_from_the_final_assistant_message_unless_the_record_has_one():
    answer = {"role": "assistant", "content": "4", "weight": 0}
    earlier = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "weight": 1}]
    pair = only_pair(jsonl({"messages": [*earlier, {"role": "user", "content": "2+2?"}, answer]}))
    assert pair.weight == 0.0 and pair.history == [{"role": "user", "content": "Hi"},
                                                   {"role": "assistant", "content": "Hello"}]
    assert only_pair(jsonl({"messages": [{"role": "user", "content": "q"}, answer], "weight": 1})).weight == 1.0
    assert only_pair(jsonl({"messages": [*earlier, {"role": "user", "content": "q"},
                                         {"role": "assistant", "content": "a"}]})).weight is None
    # Only the messages format reads it: elsewhere `messages` is an unknown key, kept in metadata.
    pair = only_pair(jsonl({"prompt": "q", "completion": "a", "messages": [answer]}), "prompt_completion")
    assert pair.weight is None and pair.metadata == {"messages": [answer]}


def test_conversational_prompt_completion_reads_system_and_history():
    pair = only_pair(jsonl({"prompt": [{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                                       {"role": "user", "content": "2+2?"}],
                            "completion": [{"role": "assistant", "content": "4"}]}))
    assert (pair.system, pair.input, pair.output) == ("Be brief.", "2+2?", "4")
    assert pair.history == [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    plain = only_pair(jsonl({"prompt": [{"role": "user", "content": "q"}],
                             "completion": [{"role": "assistant", "content": [{"type": "text", "text": "a"}]}],
                             "system": "From the column."}))
    assert (plain.system, plain.input, plain.output, plain.history) == ("From the column.", "q", "a", None)


def test_alpaca_history_column_becomes_earlier_turns_and_an_empty_system_is_none():
    pair = only_pair(jsonl({"instruction": "and 3+3?", "input": "", "output": "6", "system": "",
                            "history": [["2+2?", "4"], ["2+3?", "5"]]}))
    assert (pair.system, pair.input, pair.output) == (None, "and 3+3?", "6")
    assert pair.history == [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                            {"role": "user", "content": "2+3?"}, {"role": "assistant", "content": "5"}]
    assert pair.metadata is None  # history is the format's own column, not an unknown key
    assert only_pair(jsonl({"instruction": "q", "output": "a", "history": []})).history is None


def test_messages_single_turn_has_no_history_and_content_parts_are_joined():
    pair = only_pair(jsonl({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                                      {"type": "text", "text": "b"}]},
                                         {"role": "assistant", "content": "c"}]}))
    assert (pair.system, pair.input, pair.output, pair.history) == (None, "ab", "c", None)


def test_alpaca_with_and_without_input():
    items, fmt = parse(jsonl({"instruction": "Translate", "input": "chat", "output": "cat"},
                             {"instruction": "Say hi", "input": "", "output": "hi"},
                             {"instruction": "Say bye", "output": "bye"}))
    assert fmt == "alpaca"
    assert [(p.input, p.output) for p in items] == [("Translate\n\nchat", "cat"), ("Say hi", "hi"), ("Say bye", "bye")]


def test_sharegpt():
    pair = only_pair(jsonl({"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "Q1"},
                                              {"from": "gpt", "value": "A1"}, {"from": "human", "value": "Q2"},
                                              {"from": "gpt", "value": "A2"}]}))
    assert (pair.system, pair.input, pair.output) == ("S", "Q2", "A2")
    assert pair.history == [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]


def test_input_output():
    items, fmt = parse(jsonl({"input": "x", "output": "y", "system": "sys"}))
    assert fmt == "input_output" and (items[0].system, items[0].input, items[0].output) == ("sys", "x", "y")


@pytest.mark.parametrize(("record", "expected"), [
    ({"messages": []}, "messages"),
    ({"conversations": []}, "sharegpt"),
    ({"instruction": "i", "output": "o"}, "alpaca"),
    ({"prompt": "p", "completion": "c"}, "prompt_completion"),
    ({"input": "i", "output": "o"}, "input_output"),
])
def test_auto_detection(record, expected):
    _, fmt = parse(jsonl(record))
    assert fmt == expected


def test_auto_detection_fails_with_a_line_error():
    items, fmt = parse(jsonl({"question": "q", "answer": "a"}))
    assert fmt == "auto" and isinstance(items[0], LineError) and items[0].line == 1
    assert "unknown format" in items[0].message


@pytest.mark.parametrize(("record", "format", "field"), [
    ({"completion": "c"}, "prompt_completion", "prompt"),
    ({"prompt": 3, "completion": "c"}, "prompt_completion", "prompt"),
    ({"prompt": "p", "completion": None}, "prompt_completion", "completion"),
    ({"prompt": "p", "completion": ["c"]}, "prompt_completion", "completion"),
    ({"prompt": "p", "completion": "c", "id": {"a": 1}}, "prompt_completion", "id"),
    ({"prompt": "p", "completion": "c", "id": "  "}, "prompt_completion", "id"),
    ({"prompt": "p", "completion": "c", "weight": -1}, "prompt_completion", "weight"),
    ({"prompt": "p", "completion": "c", "weight": 0.5}, "prompt_completion", "weight"),  # OpenAI: only 0 and 1
    ({"prompt": "p", "completion": "c", "weight": 2}, "prompt_completion", "weight"),
    ({"prompt": "p", "completion": "c", "weight": "1"}, "prompt_completion", "weight"),
    ({"prompt": "p", "completion": "c", "metadata": [1]}, "prompt_completion", "metadata"),
    ({"prompt": "p", "completion": "c", "label": ["a"]}, "prompt_completion", "label"),
    ({"messages": "hi"}, "messages", "messages"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": 5}]}, "messages",
     "messages[1].content"),
    ({"messages": [{"role": "user", "content": "q"}, {"content": "a"}]}, "messages", "messages[1].role"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}, "messages", "messages[1]"),
    ({"messages": [{"role": "user", "content": "q"}]}, "messages", "messages"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "robot", "value": "a"}]}, "sharegpt",
     "conversations[1].from"),
    ({"instruction": "i"}, "alpaca", "output"),
    ({"input": "i", "output": 1.5}, "input_output", "output"),
    # The error names the position in the record as given, system messages included.
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                   {"role": "user", "content": "a"}]}, "messages", "messages[2]"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": -1}]},
     "messages", "messages[1].weight"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0.3}]},
     "messages", "messages[1].weight"),
    ({"messages": [{"role": "user", "content": "q", "weight": 0}, {"role": "assistant", "content": "a"}]},
     "messages", "messages[0].weight"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": "1"}]},
     "messages", "messages[1].weight"),
    ({"prompt": [{"role": "user", "content": "q"}], "completion": "a"}, "prompt_completion", "completion"),
    ({"prompt": [{"role": "user", "content": "q"}], "completion": []}, "prompt_completion", "completion"),
    ({"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "user", "content": "a"}]},
     "prompt_completion", "completion"),
    ({"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"},
                                                                   {"role": "assistant", "content": "b"}]},
     "prompt_completion", "completion"),
    ({"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": 1}]},
     "prompt_completion", "completion[0].content"),
    ({"prompt": [], "completion": [{"role": "assistant", "content": "a"}]}, "prompt_completion", "prompt"),
    ({"prompt": ["q"], "completion": [{"role": "assistant", "content": "a"}]}, "prompt_completion", "prompt[0]"),
    ({"prompt": [{"role": "user", "content": "q"}, {"content": "q2"}],
      "completion": [{"role": "assistant", "content": "a"}]}, "prompt_completion", "prompt[1].role"),
    ({"prompt": [{"role": "system", "content": "s"}], "completion": [{"role": "assistant", "content": "a"}]},
     "prompt_completion", "prompt[0]"),
    ({"prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}],
      "completion": [{"role": "assistant", "content": "a"}]}, "prompt_completion", "prompt[1]"),
    ({"instruction": "i", "output": "o", "history": "earlier"}, "alpaca", "history"),
    ({"instruction": "i", "output": "o", "history": [["q", "a"], ["only one"]]}, "alpaca", "history[1]"),
    ({"instruction": "i", "output": "o", "history": [["q", 2]]}, "alpaca", "history[0]"),
])
def test_wrongly_typed_or_missing_fields_name_the_line_and_field(record, format, field):
    body = jsonl({"prompt": "ok", "completion": "ok"} if format == "prompt_completion" else record, record)
    items, _ = parse(body, format)
    error = items[-1]
    assert isinstance(error, LineError), error
    assert (error.line, error.field) == (2, field), error


def test_bad_json_blank_lines_crlf_and_bom():
    body = "\ufeff" + '{"prompt": "a", "completion": "b"}\r\n\r\n   \n{broken\r\n[1, 2]\n{"prompt": "c", "completion": "d"}\r\n'
    items, fmt = parse(body)
    assert fmt == "prompt_completion"
    assert [(type(i).__name__, i.line) for i in items] == [("ParsedPair", 1), ("LineError", 4), ("LineError", 5),
                                                          ("ParsedPair", 6)]
    assert items[0].input == "a" and items[3].output == "d"  # no stray \r, no BOM in the text
    assert "invalid JSON" in items[1].message and "object" in items[2].message


def test_invalid_utf8_and_nan_are_line_errors():
    body = b'{"prompt": "\xff", "completion": "b"}\n{"prompt": "a", "completion": "b", "metadata": {"x": NaN}}\n'
    items, _ = parse(body, "prompt_completion")
    assert [(i.line, "UTF-8" in i.message) for i in items] == [(1, True), (2, False)]
    assert all(isinstance(i, LineError) for i in items)


def test_unicode_is_kept_exactly():
    text = "Hello 👋🏽 مرحبا e\u0301 \u202eRTL\u202c 中文 \u200d"
    pair = only_pair(jsonl({"prompt": text, "completion": text[::-1]}))
    assert pair.input == text and pair.output == text[::-1]


def test_nul_bytes_and_lone_surrogates_become_replacement_characters():
    body = '{"prompt": "a\\u0000b", "completion": "x\\ud800y", "metadata": {"k\\u0000": "v\\udfff"}}\n'
    pair = only_pair(body)
    assert (pair.input, pair.output) == ("a\ufffdb", "x\ufffdy")
    assert pair.metadata == {"k\ufffd": "v\ufffd"}


def test_huge_line():
    big = "x" * (5 * 1024 * 1024)
    pair = only_pair(jsonl({"prompt": big, "completion": "y"}))
    assert len(pair.input) == len(big)


def test_json_array_positions_are_the_line_numbers():
    body = json.dumps([{"prompt": "a", "completion": "b"}, {"prompt": 1, "completion": "b"}])
    items, fmt = parse(body)
    assert fmt == "prompt_completion" and isinstance(items[0], ParsedPair)
    assert (items[1].line, items[1].field) == (2, "prompt")


def test_json_that_is_not_an_array_is_one_error():
    items, _ = parse(b'\xef\xbb\xbf [{"prompt": "a", "completion": "b"}')
    assert len(items) == 1 and isinstance(items[0], LineError) and items[0].line == 1


def test_csv_with_bom_crlf_quoted_newlines_and_json_columns():
    body = ("\ufeffid,prompt,completion,label,weight,metadata\r\n"
            '1,"multi\nline",yes,pos,0,"{""k"": 1}"\r\n'
            "2,plain,,,,\r\n"
            "3,bad,x,,heavy,\r\n")
    items, fmt = parse(body, filename="pairs.csv")
    assert fmt == "prompt_completion"
    first, second, third = items
    assert (first.external_id, first.input, first.output, first.label, first.weight, first.metadata) == (
        "1", "multi\nline", "yes", "pos", 0.0, {"k": 1})
    assert (second.input, second.output, second.label, second.weight) == ("plain", "", None, None)
    assert isinstance(third, LineError) and (third.line, third.field) == (5, "weight")


def test_csv_chat_columns_as_json():
    body = 'messages\n"[{""role"": ""user"", ""content"": ""q""}, {""role"": ""assistant"", ""content"": ""a""}]"\n'
    items, fmt = parse(body, content_type="text/csv")
    assert fmt == "messages" and (items[0].input, items[0].output) == ("q", "a")


CALL = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}
TOOL_TURNS = [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": None, "tool_calls": [CALL]},
              {"role": "tool", "content": "sunny", "tool_call_id": "c1"}, {"role": "assistant", "content": "Sunny."}]


def test_tool_calls_and_earlier_weights_are_kept_on_the_history():
    tools = [{"type": "function", "function": {"name": "weather"}}]
    pair = only_pair(jsonl({"messages": [*TOOL_TURNS[:3], {**TOOL_TURNS[3], "weight": 0},
                                         {"role": "user", "content": "Tomorrow?"},
                                         {"role": "assistant", "content": "Rain."}], "tools": tools}))
    assert pair.history == [{"role": "user", "content": "Weather?"},
                            {"role": "assistant", "content": "", "tool_calls": [CALL]},
                            {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
                            {"role": "assistant", "content": "Sunny.", "weight": 0.0}]
    assert (pair.input, pair.output, pair.weight, pair.metadata) == ("Tomorrow?", "Rain.", None, {"tools": tools})


@pytest.mark.parametrize("messages, field", [
    (TOOL_TURNS[:1] + TOOL_TURNS[2:] + [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
     "messages[1].tool_call_id"),  # an orphan tool turn
    (TOOL_TURNS[:2] + [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "messages[2]"),
    (TOOL_TURNS[:2], "messages[1].tool_calls"),  # the answer itself is a call
    (TOOL_TURNS, "messages[2]"),  # the answer follows a tool result, not the user's turn
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "x", "function": {"name": "f", "arguments": "{not json"}}]},
      {"role": "tool", "content": "r", "tool_call_id": "x"}, {"role": "user", "content": "q"},
      {"role": "assistant", "content": "a"}], "messages[1].tool_calls[0].function.arguments"),
])
def test_broken_tool_conversations_are_refused_with_the_field(messages, field):
    (error,), _ = parse(jsonl({"messages": messages}))
    assert isinstance(error, LineError) and error.field == field, error


def test_sharegpt_function_call_and_observation_become_a_call_and_its_result():
    pair = only_pair(jsonl({"conversations": [
        {"from": "human", "value": "Weather?"}, {"from": "function_call", "value": "{\"name\": \"weather\", \"arguments\": {}}"},
        {"from": "observation", "value": "sunny"}, {"from": "gpt", "value": "Sunny."},
        {"from": "human", "value": "ok"}, {"from": "gpt", "value": "bye"}]}))
    call, result = pair.history[1], pair.history[2]
    assert call["tool_calls"][0]["function"] == {"name": "weather", "arguments": "{}"}
    assert result == {"role": "tool", "content": "sunny", "tool_call_id": call["tool_calls"][0]["id"]}
