from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.common import DefinitionText, JsonDefinition

TaskTypeLiteral = Literal["generation", "classification", "preference"]
# "reference": an eval set, test set or benchmark that training datasets are checked against; never exported.
RoleLiteral = Literal["training", "reference"]
MAX_LABELS = 10_000
MAX_DESCRIPTION = 10_000


def _check_labels(labels: list[str] | None) -> list[str] | None:
    if labels is None:
        return None
    cleaned = [label.strip() for label in labels]
    if any(not label for label in cleaned):
        raise ValueError("labels must be non-empty strings")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError("labels must be unique")
    return cleaned


def _check_settings(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if settings and "tokenizer" in settings:
        from app.embeddings.target_tokenizer import check_choice

        check_choice(settings["tokenizer"])
    return settings


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DefinitionText = Field(min_length=1, max_length=200)
    description: DefinitionText = Field(default="", max_length=MAX_DESCRIPTION)
    task_type: TaskTypeLiteral = "generation"
    role: RoleLiteral = "training"
    label_set: list[DefinitionText] | None = Field(default=None, max_length=MAX_LABELS)
    output_schema: JsonDefinition | None = None
    settings: JsonDefinition = Field(default_factory=dict)

    _labels = field_validator("label_set")(_check_labels)
    _settings = field_validator("settings")(_check_settings)

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class DatasetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DefinitionText | None = Field(default=None, min_length=1, max_length=200)
    description: DefinitionText | None = Field(default=None, max_length=MAX_DESCRIPTION)
    task_type: TaskTypeLiteral | None = None
    role: RoleLiteral | None = None
    label_set: list[DefinitionText] | None = Field(default=None, max_length=MAX_LABELS)
    output_schema: JsonDefinition | None = None
    settings: JsonDefinition | None = None

    _labels = field_validator("label_set")(_check_labels)
    _settings = field_validator("settings")(_check_settings)


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    task_type: str
    role: str = "training"
    label_set: list[str] | None
    output_schema: dict[str, Any] | None
    settings: dict[str, Any]
    example_count: int = 0
    created_at: datetime
    updated_at: datetime
