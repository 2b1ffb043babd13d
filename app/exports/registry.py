"""The export formats: every module of app/exports/ that declares a module-level `FORMAT` (an ExportFormat).

Adding a format is that module plus its test; nothing else lists formats.
"""

import importlib
import pkgutil
from pathlib import Path

from app.exports.base import ExportFormat


def _discover() -> dict[str, ExportFormat]:
    found: dict[str, ExportFormat] = {}
    for module_info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "registry":
            continue
        declared = getattr(importlib.import_module(f"{__package__}.{module_info.name}"), "FORMAT", None)
        if isinstance(declared, ExportFormat):
            if declared.name in found:
                raise TypeError(f"two export formats are named '{declared.name}'")
            found[declared.name] = declared
    return found


FORMATS: dict[str, ExportFormat] = _discover()
DEFAULT_FORMAT = "openai_chat"
