from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.common import JSON_TYPE, TIMESTAMP, utcnow


class Embedding(SQLModel, table=True):
    """A float32 vector of one example's text for one model; `text_hash` says which text."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("example_id", "model", name="uq_embeddings_example_model"),)

    id: int | None = Field(default=None, primary_key=True)
    example_id: int = Field(sa_column=Column(Integer, ForeignKey("examples.id", ondelete="CASCADE"), nullable=False))
    model: str = Field(max_length=200)
    text_hash: str = Field(max_length=64)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)


class FindingStatus(StrEnum):
    open = "open"
    dismissed = "dismissed"
    resolved = "resolved"


class Finding(SQLModel, table=True):
    __tablename__ = "findings"
    __table_args__ = (
        # In the order every findings list pages by (migration 0002_search_indexes).
        Index("ix_findings_dataset_check_status_score", "dataset_id", "check", "status", text("score DESC"), "id",
              "example_id"),
        Index("ix_findings_dataset_score", "dataset_id", text("score DESC"), "id"),
        Index("ix_findings_example", "example_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False))
    example_id: int = Field(sa_column=Column(Integer, ForeignKey("examples.id", ondelete="CASCADE"), nullable=False))
    check: str = Field(max_length=50)
    score: float
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON_TYPE, nullable=False))
    status: str = Field(default=FindingStatus.open, max_length=20)
    # The analysis job that produced it and the example version it saw.
    job_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("jobs.id", ondelete="SET NULL")))
    example_version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
