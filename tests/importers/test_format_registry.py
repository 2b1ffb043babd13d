"""Import formats declare themselves; format=auto picks the most specific one that recognises a record."""

from app.importers import FORMATS, detect_format
from app.importers.formats import ImportFormat
from app.importers.registry import UNKNOWN_FORMAT
from app.task_types import ALL_TASK_TYPES


def test_every_module_with_a_format_declaration_is_registered():
    assert set(FORMATS) == {"messages", "sharegpt", "alpaca", "prompt_completion", "input_output",
                            "trl_preference", "openai_dpo", "hh", "rated", "kto"}
    for name, declared in FORMATS.items():
        assert isinstance(declared, ImportFormat) and declared.name == name and declared.description
        assert set(declared.task_types) <= ALL_TASK_TYPES and declared.shape in UNKNOWN_FORMAT


def test_auto_detection_prefers_the_most_specific_format():
    assert detect_format({"messages", "input", "output"}) == "messages"
    assert detect_format({"conversations", "prompt", "completion"}) == "sharegpt"
    assert detect_format({"instruction", "input", "output"}) == "alpaca"
    assert detect_format({"prompt", "completion", "input", "output"}) == "prompt_completion"
    assert detect_format({"input", "output", "label"}) == "input_output"
    assert detect_format({"prompt", "output"}) is None
