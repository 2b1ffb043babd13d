"""The one list of checks, and their effective settings for a dataset.

A dataset overrides a check's defaults in `Dataset.settings[<check name>]`, e.g.
`{"near_duplicate": {"threshold": 0.95}, "outlier": {"enabled": false}}`.
"""

from typing import Any

from pydantic import ValidationError

from app.checks.base import Check
from app.checks.class_imbalance import ClassImbalanceCheck
from app.checks.conflicting_output import ConflictingOutputCheck
from app.checks.contradicting_preference import ContradictingPreferenceCheck
from app.checks.exact_duplicate import ExactDuplicateCheck
from app.checks.format import FormatCheck
from app.checks.identical_sides import IdenticalSidesCheck
from app.checks.label_issue import LabelIssueCheck
from app.checks.length_bias import LengthBiasCheck
from app.checks.near_duplicate import NearDuplicateCheck
from app.checks.outlier import OutlierCheck
from app.errors import InvalidInput

CHECKS: dict[str, Check] = {check.name: check for check in (
    FormatCheck(), ExactDuplicateCheck(), NearDuplicateCheck(), ConflictingOutputCheck(), LabelIssueCheck(),
    ClassImbalanceCheck(), OutlierCheck(), IdenticalSidesCheck(), ContradictingPreferenceCheck(), LengthBiasCheck(),
)}
# Checks whose findings are about the dataset (a label), not about the example they are attached to.
DATASET_LEVEL_CHECKS = frozenset(name for name, check in CHECKS.items() if getattr(check, "dataset_level", False))


def effective_settings(dataset_settings: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Defaults merged with the dataset's overrides; unknown keys are a 422, not a silent no-op."""
    dataset_settings = dataset_settings or {}
    result = {}
    for name, check in CHECKS.items():
        overrides = dataset_settings.get(name) or {}
        if not isinstance(overrides, dict):
            raise InvalidInput(f"settings.{name} must be an object", field=f"settings.{name}")
        unknown = sorted(set(overrides) - set(check.defaults) - {"enabled"})
        if unknown:
            raise InvalidInput(f"unknown setting(s) for check {name}: {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(check.defaults)) or 'none'} and enabled",
                               field=f"settings.{name}")
        defaults = {"enabled": True, **check.defaults}
        for key, value in overrides.items():
            _check_type(f"settings.{name}.{key}", defaults[key], value)
        choices = getattr(check, "choices", {})
        for key, allowed in choices.items():
            if key in overrides and overrides[key] not in allowed:
                raise InvalidInput(f"settings.{name}.{key} must be one of {', '.join(allowed)}",
                                   field=f"settings.{name}.{key}")
        result[name] = {**defaults, **overrides}
        model = getattr(check, "settings_model", None)
        if model is not None and overrides:
            try:
                model(**result[name])
            except ValidationError as exc:
                error = exc.errors()[0]
                field = f"settings.{name}.{'.'.join(str(p) for p in error['loc'])}"
                raise InvalidInput(f"{field}: {error['msg']}", field=field) from None
    return result


def _check_type(field: str, default: Any, value: Any) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    else:
        ok = isinstance(value, type(default))
    if not ok:
        kind = "true or false" if isinstance(default, bool) else (
            "a non-negative number" if isinstance(default, int | float) else "a string")
        raise InvalidInput(f"{field} must be {kind} (got {value!r})", field=field)


def applies_to(check: Check, task_type: str | None) -> bool:
    """A check that declares `task_types` runs only on those; one that does not runs on every task type."""
    task_types = getattr(check, "task_types", None)
    return task_type is None or task_types is None or task_type in task_types


def enabled_checks(settings: dict[str, dict[str, Any]], task_type: str | None = None) -> list[Check]:
    return [check for name, check in CHECKS.items() if settings[name].get("enabled", True) and applies_to(check, task_type)]
