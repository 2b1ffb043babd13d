from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from app.models.common import JSON_TYPE, TIMESTAMP, utcnow
from app.task_types import TaskType


class DatasetRole(StrEnum):
    training = "training"
    # An eval set, a test set or a benchmark: training pairs are checked against it; never exported.
    reference = "reference"


class Dataset(SQLModel, table=True):
    __tablename__ = "datasets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, index=True)
    description: str = Field(default="")
    task_type: str = Field(default=TaskType.generation, max_length=20)
    role: str = Field(default=DatasetRole.training, max_length=20,
                      sa_column_kwargs={"server_default": DatasetRole.training.value})
    label_set: list[str] | None = Field(default=None, sa_column=Column(JSON_TYPE))
    output_schema: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON_TYPE))
    # Check thresholds and limits; see app/checks for the keys and defaults.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON_TYPE, nullable=False))
    # Bumped by every change of the dataset's examples or findings: keys the cached counts
    # (app/services/dataset_stats.py), so no page counts a million rows twice.
    content_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)


class DatasetChange(SQLModel, table=True):
    """What one bump of `Dataset.content_version` did to the dataset's counts: `delta` is a list of
    [status, label, has an open finding, +n or -n]; None = anything may have changed (an import, an
    analysis). A server that counted at an earlier version adds the deltas instead of counting a
    million rows again (app/services/dataset_stats.py)."""

    __tablename__ = "dataset_changes"
    __table_args__ = (Index("ix_dataset_changes_dataset_version", "dataset_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False))
    version: int
    delta: list[Any] | None = Field(default=None, sa_column=Column(JSON_TYPE))
