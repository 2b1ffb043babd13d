"""The check registry: every check declares its facts, and every list of checks is derived from them."""

import pytest
from pydantic import BaseModel

from app.checks import registry
from app.checks.base import CheckSettings
from app.task_types import ALL_TASK_TYPES


@pytest.mark.parametrize("name", list(registry.CHECKS))
def test_each_check_declares_everything_about_itself(name):
    check = registry.CHECKS[name]
    assert check.name == name and check.description
    assert check.task_types and set(check.task_types) <= ALL_TASK_TYPES
    for fact in ("needs_embeddings", "dataset_level", "forms_clusters", "blocks_readiness", "excluded_from_export"):
        assert isinstance(getattr(check, fact), bool), fact
    assert issubclass(check.settings_model, CheckSettings) and issubclass(check.settings_model, BaseModel)
    defaults = check.settings_model()
    assert defaults.enabled is True
    for field, info in check.settings_model.model_fields.items():
        if info.annotation in (int, float, int | None, float | None):  # every number has a range (no 447 GiB)
            bounds = {type(m).__name__ for m in info.metadata}
            assert bounds & {"Ge", "Gt"} and "Le" in bounds, f"{name}.{field} needs a lower and an upper bound"


def test_the_lists_of_checks_are_derived_from_the_declarations():
    # The same lists the code once spelled out by hand (report, review, export selection, export schema).
    # (with the preference checks: identical_sides, contradicting_preference, length_bias)
    assert set(registry.CHECK_NAMES) == {"format", "exact_duplicate", "near_duplicate", "conflicting_output",
                                         "label_issue", "class_imbalance", "outlier", "contamination", "identical_sides",
                                         "contradicting_preference", "length_bias"}
    assert set(registry.CLUSTER_CHECKS) == {"exact_duplicate", "near_duplicate", "conflicting_output",
                                            "contradicting_preference"}
    assert set(registry.BLOCKING_CHECKS) == {"exact_duplicate", "near_duplicate", "conflicting_output", "contamination",
                                             "identical_sides", "contradicting_preference"}
    assert set(registry.EXCLUDED_FROM_EXPORT) == {"format", "conflicting_output", "label_issue", "contamination",
                                                  "identical_sides", "contradicting_preference"}
    assert registry.DATASET_LEVEL_CHECKS == ("class_imbalance", "length_bias")
    assert registry.names_where(needs_embeddings=False, forms_clusters=True) == ("exact_duplicate",)


def test_defaults_and_overrides_come_from_the_typed_models():
    settings = registry.effective_settings({"near_duplicate": {"threshold": 0.95}, "outlier": {"enabled": False},
                                            "not_a_check": {"anything": 1}})
    assert settings["near_duplicate"] == {"enabled": True, "threshold": 0.95, "k": 10}
    assert settings["outlier"]["enabled"] is False and "not_a_check" not in settings
    assert [c.name for c in registry.enabled_checks(settings)] == [n for n in registry.CHECK_NAMES if n != "outlier"]
    assert registry.neighbours_needed(registry.effective_settings({"outlier": {"k": 30}})) == 30


def test_a_check_runs_only_on_the_task_types_it_declares(monkeypatch):
    settings = registry.effective_settings({})
    monkeypatch.setattr(registry.CHECKS["label_issue"], "task_types", frozenset({"classification"}))
    assert "label_issue" in [c.name for c in registry.enabled_checks(settings, "classification")]
    assert "label_issue" not in [c.name for c in registry.enabled_checks(settings, "generation")]


@pytest.mark.parametrize(("settings", "field"), [
    ({"near_duplicate": {"k": float("inf")}}, "settings.near_duplicate.k"),
    ({"near_duplicate": {"k": 10.5}}, "settings.near_duplicate.k"),
    ({"label_issue": {"C": float("nan")}}, "settings.label_issue.C"),
    ({"format": {"max_tokens": float("inf")}}, "settings.format.max_tokens"),
    ({"format": {"check_whitespace": 1}}, "settings.format.check_whitespace"),
    ({"outlier": {"kk": 3}}, "settings.outlier"),
])
def test_a_bad_setting_is_a_422_naming_its_field(settings, field):
    from app.errors import InvalidInput

    with pytest.raises(InvalidInput) as raised:
        registry.effective_settings(settings)
    assert raised.value.status_code == 422 and raised.value.details["field"] == field
