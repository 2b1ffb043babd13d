"""The preference import formats, one module each; `auto` asks each whether it recognises a record.

Each module declares NAME, DESCRIPTION, TASK_TYPES, KEYS (its own record keys, which do not go to
metadata), `recognises(record) -> bool` and `to_pairs(record, options) -> list[dict]`.
Their keys (`chosen`/`rejected`, `preferred_output`, `completions`, a boolean `label`) never appear in
an SFT record, so they are asked before the SFT formats.
"""

from types import ModuleType

from app.importers import hh, kto, openai_dpo, rated, trl_preference

# In the order `auto` asks them: hh before trl_preference (both have chosen/rejected; hh's are dialogue text).
PREFERENCE_FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (openai_dpo, rated, hh, trl_preference, kto)}


def detect_preference_format(record: dict) -> str | None:
    for name, module in PREFERENCE_FORMATS.items():
        if module.recognises(record):
            return name
    return None
