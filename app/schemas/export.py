from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.checks.registry import CHECK_NAMES, EXCLUDED_FROM_EXPORT
from app.exports import DEFAULT_FORMAT, FORMATS
from app.exports.splits import SPLIT_NAMES

# The analysis engine's checks; an unknown name is a typo, refused with 422.
KNOWN_CHECKS = CHECK_NAMES
DEFAULT_EXCLUDED_CHECKS = list(EXCLUDED_FROM_EXPORT)
StatusLiteral = Literal["pending", "accepted", "rejected"]


class ExportParams(BaseModel):
    """What to export and how to split it. Every field has a default."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default=DEFAULT_FORMAT, description=f"one of: {', '.join(FORMATS)}")
    splits: dict[str, float] = Field(default_factory=lambda: {"train": 0.8, "validation": 0.1, "test": 0.1},
                                     description="ratio per split (train, validation, test), each in [0, 1], sum 1")
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    include_status: list[StatusLiteral] = Field(default_factory=lambda: ["accepted", "pending"], min_length=1)
    exclude_checks: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDED_CHECKS),
                                      description="leave out examples with an OPEN finding of these checks")
    dedupe: Literal["keep_one", "keep_all"] = "keep_one"
    epochs: int = Field(default=3, ge=1, le=1000, description="epochs for the training-token estimate")
    max_examples: int | None = Field(default=None, ge=1, le=10_000_000,
                                     description="a budget: keep at most this many of the clean pairs")
    selection: Literal["diverse", "random"] = Field(
        default="diverse", description="how a budget picks: diverse (cover the embedding space) or random")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format '{value}'; use one of: {', '.join(FORMATS)}")
        return value

    @field_validator("splits")
    @classmethod
    def _valid_ratios(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(SPLIT_NAMES))
        if unknown:
            raise ValueError(f"unknown split(s) {unknown}; use train, validation, test")
        for name, ratio in value.items():
            if not 0.0 <= ratio <= 1.0 or ratio != ratio:
                raise ValueError(f"ratio of '{name}' must be in [0, 1], got {ratio}")
        total = sum(value.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"ratios must sum to 1, got {total:g}")
        return {name: float(value.get(name, 0.0)) for name in SPLIT_NAMES}

    @field_validator("exclude_checks")
    @classmethod
    def _known_checks(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(KNOWN_CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; use: {', '.join(KNOWN_CHECKS)}")
        return sorted(set(value))

    @field_validator("include_status")
    @classmethod
    def _unique_status(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class ExportPublic(BaseModel):
    id: int
    dataset_id: int
    status: str
    format: str
    params: dict[str, Any]
    manifest: dict[str, Any] | None
    files: list[str]
    created_at: datetime


class SplitPreview(BaseModel):
    """Counts an export with these parameters would have, without writing anything."""

    total: int
    splits: dict[str, dict[str, Any]]  # split -> {"total": n, "labels": {label: n}}
    excluded: dict[str, Any]
    within_one_of_target: bool
    # With max_examples: the method, counts and coverage of both selections (lower distance is better).
    budget: dict[str, Any] | None = None
