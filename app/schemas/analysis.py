from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

FindingStatusLiteral = Literal["open", "dismissed", "resolved"]


class FindingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    example_id: int
    check: str
    score: float
    details: dict[str, Any]
    status: str
    job_id: int | None
    example_version: int
    created_at: datetime
    updated_at: datetime


class FindingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: FindingStatusLiteral


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    dataset_id: int | None
    status: str
    done: int
    total: int
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None = None


class ReadinessReason(BaseModel):
    message: str
    check: str | None = None  # the review queue that settles it, if one does


class Readiness(BaseModel):
    ready: bool
    reasons: list[str]
    items: list[ReadinessReason] = []  # the same reasons, each with the check whose queue settles it


class DatasetReport(BaseModel):
    dataset_id: int
    examples: int
    clean_examples: int
    labels: dict[str, int]
    clean_labels: dict[str, int]
    imbalance_ratio: float | None
    findings_by_check: dict[str, dict[str, int]]
    findings_by_status: dict[str, int]
    examples_by_status: dict[str, int]
    small_classes: list[str]
    last_analysis: JobPublic | None
    readiness: Readiness
    # Per reference set named in settings.contamination: open contamination findings and their share.
    contamination: list[dict[str, Any]] = []
    # Preference datasets: the length_bias check's figures from the last analysis (see app/checks/length_bias.py).
    length_bias: dict[str, Any] | None = None
