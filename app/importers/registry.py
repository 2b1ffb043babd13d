"""The import formats: every module of app/importers/ that declares a module-level `FORMAT` (an ImportFormat).

Adding a format is that module plus its test; with format=auto the most specific format that recognises
a record's keys is the file's format.
"""

import importlib
import pkgutil
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

from app.importers.formats import ImportFormat


# Modules of app/importers/ that are machinery rather than a format (the reader uses this registry).
_MACHINERY = {"formats", "reader", "registry"}


def _discover() -> dict[str, ImportFormat]:
    found: list[ImportFormat] = []
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name.startswith("_") or module_info.name in _MACHINERY:
            continue
        declared = getattr(importlib.import_module(f"{__package__}.{module_info.name}"), "FORMAT", None)
        if isinstance(declared, ImportFormat):
            found.append(declared)
    found.sort(key=lambda f: (-f.specificity, f.name))
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        raise TypeError(f"two import formats share a name: {names}")
    return {f.name: f for f in found}


# Most specific first: the order format=auto tries them in.
FORMATS: dict[str, ImportFormat] = _discover()
_SHAPES = [f.shape for f in FORMATS.values()]
UNKNOWN_FORMAT = f"unknown format: expected {', '.join(_SHAPES[:-1])} or {_SHAPES[-1]}"


def detect_format(record: Set[str] | Mapping[str, Any]) -> str | None:
    """The format a record (or only its keys) says it is in, or None. Given the record itself, a format may
    look at a value too (KTO's `label` is a boolean, an SFT record's a string)."""
    return next((name for name, f in FORMATS.items() if f.recognises(record)), None)
