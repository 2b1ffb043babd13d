"""The checks, found in this package, and every list of them derived from what each declares.

A check is a class in its own module of `app/checks/` with the attributes of `app.checks.base.Check`;
adding one is that file plus its test file, nothing else. A dataset overrides a check's defaults in
`Dataset.settings[<check name>]`, e.g. `{"near_duplicate": {"threshold": 0.95}, "outlier": {"enabled": false}}`;
each check's typed `settings_model` validates them (ranges included).
"""

import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.checks.base import Check, CheckSettings
from app.errors import InvalidInput

# Modules of app/checks/ that hold the shared machinery rather than a check.
_MACHINERY = {"base", "clusters", "registry", "settings"}
_DECLARED = ("name", "description", "task_types", "needs_embeddings", "dataset_level", "forms_clusters",
             "blocks_readiness", "excluded_from_export", "settings_model", "run")


def _discover() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for module_info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module_info.name in _MACHINERY or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not isinstance(getattr(cls, "settings_model", None), type):
                continue
            missing = [attribute for attribute in _DECLARED if not hasattr(cls, attribute)]
            if missing:
                raise TypeError(f"check {cls.__qualname__} in {module.__name__} does not declare {', '.join(missing)}")
            if not issubclass(cls.settings_model, CheckSettings):
                raise TypeError(f"{cls.__qualname__}.settings_model must extend app.checks.base.CheckSettings")
            if cls.name in found:
                raise TypeError(f"two checks are named '{cls.name}'")
            found[cls.name] = cls()
    return found


CHECKS: dict[str, Check] = _discover()
CHECK_NAMES = tuple(CHECKS)


def names_where(**facts: bool) -> tuple[str, ...]:
    """Names of the checks whose declarations equal `facts`, e.g. names_where(blocks_readiness=True)."""
    return tuple(name for name, check in CHECKS.items()
                 if all(getattr(check, fact) == value for fact, value in facts.items()))


# Findings about the dataset (a label), not the example they are attached to.
DATASET_LEVEL_CHECKS = names_where(dataset_level=True)
# Findings carry details.cluster_id (and duplicate_of): reviewed as clusters, deduplicated by exports.
CLUSTER_CHECKS = names_where(forms_clusters=True)
# An open finding makes the dataset "not ready".
BLOCKING_CHECKS = names_where(blocks_readiness=True)
# Exports leave out examples with an open finding of these unless told otherwise.
EXCLUDED_FROM_EXPORT = names_where(excluded_from_export=True)


def _settings_error(name: str, check: Check, error: ValidationError) -> InvalidInput:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    field = f"settings.{name}.{key}" if key else f"settings.{name}"
    value = first.get("input")
    kind = first["type"]
    if kind == "extra_forbidden":
        unknown = [k for k in error.errors() if k["type"] == "extra_forbidden"]
        keys = sorted(str(e["loc"][0]) for e in unknown)
        known = sorted(set(check.settings_model.model_fields) - {"enabled"})
        return InvalidInput(f"unknown setting(s) for check {name}: {', '.join(keys)}; known: "
                            f"{', '.join(known) or 'none'} and enabled", field=f"settings.{name}")
    if kind == "model_type":
        return InvalidInput(f"settings.{name} must be an object", field=field)
    if kind == "bool_type":
        return InvalidInput(f"{field} must be true or false (got {value!r})", field=field)
    if kind == "literal_error":
        allowed = first["ctx"]["expected"].replace("'", "")
        return InvalidInput(f"{field} must be one of {allowed} (got {value!r})", field=field)
    info = check.settings_model.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    number = next((t for t in (int, float) if info is not None and info.annotation in (t, t | None)), None)
    if number is not None:
        what = "a whole number" if number is int else "a finite number"
        return InvalidInput(f"{field} must be {what} {_range(info.metadata)} (got {value!r})", field=field)
    return InvalidInput(f"{field}: {first['msg']} (got {value!r})", field=field)


def _range(metadata: list) -> str:
    """'from 1 to 200', 'above 0 and at most 1' from a field's annotated_types bounds."""
    words = []
    for bound in metadata:
        for attribute, word in (("ge", "from {}"), ("gt", "above {}")):
            if getattr(bound, attribute, None) is not None:
                words.insert(0, word.format(getattr(bound, attribute)))
        if getattr(bound, "le", None) is not None:
            words.append("to {}" if words and words[0].startswith("from") else "and at most {}")
            words[-1] = words[-1].format(bound.le)
    return " ".join(words)


def effective_settings(dataset_settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Defaults merged with the dataset's overrides, per check; a wrong or unknown key is a 422 naming it.

    Keys of `dataset_settings` that are not check names are left alone."""
    dataset_settings = dataset_settings or {}
    result = {}
    for name, check in CHECKS.items():
        overrides = dataset_settings.get(name) or {}
        try:
            result[name] = check.settings_model.model_validate(overrides).model_dump()
        except ValidationError as exc:
            raise _settings_error(name, check, exc) from None
    return result


def enabled_checks(settings: dict[str, dict[str, Any]], task_type: str | None = None) -> list[Check]:
    """The checks to run: enabled in `settings`, and made for the task type (any, when None)."""
    return [check for name, check in CHECKS.items()
            if settings[name]["enabled"] and (task_type is None or task_type in check.task_types)]


def neighbours_needed(settings: dict[str, dict[str, Any]]) -> int:
    """The most neighbours any check looks at (its `k`): one k-NN search serves them all, and the saved
    neighbour graph (the exports' leakage check) has as many whether or not a check is enabled."""
    return max((int(values["k"]) for values in settings.values() if "k" in values), default=10)
