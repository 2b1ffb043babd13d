from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import JSON_TYPE, TIMESTAMP, utcnow


class ExampleStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


# Optimistic concurrency: SQLAlchemy adds `AND version = :seen` to every UPDATE and bumps it.
_version_column = Column("version", Integer, nullable=False, default=1)


class Example(SQLModel, table=True):
    __tablename__ = "examples"
    __mapper_args__ = {"version_id_col": _version_column}
    __table_args__ = (
        UniqueConstraint("dataset_id", "external_id", name="uq_examples_dataset_external_id"),
        Index("ix_examples_dataset_status", "dataset_id", "status"),
        # Covers the health report's counts by status and label (migration 0002_search_indexes).
        Index("ix_examples_dataset_status_label", "dataset_id", "status", "label"),
        Index("ix_examples_dataset_label", "dataset_id", "label"),
        Index("ix_examples_dataset_input_hash", "dataset_id", "input_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False))
    external_id: str | None = Field(default=None, max_length=500)
    system: str | None = None
    # On Postgres both are under the "C" collation (migration 0013): the search folds ASCII letters
    # only, as SQLite's LIKE does.
    input: str
    output: str
    history: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON_TYPE))
    label: str | None = Field(default=None, max_length=500)
    # `metadata` is reserved by SQLAlchemy's declarative base, hence the attribute name.
    meta: dict[str, Any] | None = Field(default=None, sa_column=Column("metadata", JSON_TYPE))
    weight: float | None = None
    status: str = Field(default=ExampleStatus.pending, max_length=20)
    # sha256 of the normalised input (exact-duplicate key) and of normalised input + output.
    input_hash: str = Field(max_length=64)
    content_hash: str = Field(max_length=64)
    version: int = Field(default=1, sa_column=_version_column)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    # Preference pairs (task_type "preference"): `output` holds the chosen answer and `rejected` the other one;
    # an unpaired KTO example has no `rejected` but a `kto_label` (true: desirable). NULL for SFT pairs.
    # Kept at the end: the import's INSERT lists the columns in table order.
    rejected: str | None = None
    kto_label: bool | None = None


class Revision(SQLModel, table=True):
    """One changed field of one example: the audit trail."""

    __tablename__ = "revisions"

    id: int | None = Field(default=None, primary_key=True)
    example_id: int = Field(
        sa_column=Column(Integer, ForeignKey("examples.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    version: int
    field: str = Field(max_length=50)
    old: Any = Field(default=None, sa_column=Column(JSON_TYPE))
    new: Any = Field(default=None, sa_column=Column(JSON_TYPE))
    author: str = Field(default="system", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
