from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.models.common import JSON_TYPE, TIMESTAMP, utcnow


class Export(SQLModel, table=True):
    __tablename__ = "exports"

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(
        sa_column=Column(Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    status: str = Field(default="queued", max_length=20)
    format: str = Field(max_length=50)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON_TYPE, nullable=False))
    manifest: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON_TYPE))
    # Folder under the data directory holding the files.
    path: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=TIMESTAMP)
