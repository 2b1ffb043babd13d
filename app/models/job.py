from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.common import JSON_TYPE, TIMESTAMP, utcnow


class JobKind(StrEnum):
    analyze = "analyze"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.queued, JobStatus.running)


class Job(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_dataset_kind_status", "dataset_id", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    dataset_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="CASCADE"))
    )
    status: str = Field(default=JobStatus.queued, max_length=20)
    done: int = 0
    total: int = 0
    message: str = ""
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON_TYPE, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON_TYPE))
    error: str | None = None
    # Which server process runs it; a job whose owner is gone is not running any more.
    owner: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    started_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
    finished_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
    heartbeat_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
    # Set by POST /api/v1/jobs/{id}/cancel; the job stops at its next progress report.
    cancel_requested_at: datetime | None = Field(default=None, sa_type=TIMESTAMP)
