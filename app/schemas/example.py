from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.schemas.common import JsonData, check_json_data

StatusLiteral = Literal["pending", "accepted", "rejected"]


def _zero_or_one(value: float | None) -> float | None:
    if value is not None and value not in (0, 1):
        raise ValueError(f"weight must be 0 or 1 (0: do not train on this answer), got {value!r}")
    return value


# OpenAI accepts only 0 and 1 on an assistant message, and every trainer that reads a weight reads it as a mask.
TrainingWeight = Annotated[float | None, AfterValidator(_zero_or_one)]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str


class ExampleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(default=None, max_length=500)
    system: str | None = None
    input: str
    output: str = ""
    history: Annotated[list[Message] | None, BeforeValidator(check_json_data)] = None
    label: str | None = Field(default=None, max_length=500)
    metadata: JsonData | None = None
    weight: TrainingWeight = None
    status: StatusLiteral = "pending"
    rejected: str | None = Field(default=None, description="preference datasets: the rejected answer "
                                                            "(`output` is the chosen one)")
    kto_label: bool | None = Field(default=None, description="preference datasets: an unpaired KTO example's label")


class ExampleUpdate(BaseModel):
    """Fields to change. `version` is the version the client last saw: a stale one gets 409."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    system: str | None = None
    input: str | None = None
    output: str | None = None
    history: Annotated[list[Message] | None, BeforeValidator(check_json_data)] = None
    label: str | None = Field(default=None, max_length=500)
    metadata: JsonData | None = None
    weight: TrainingWeight = None
    status: StatusLiteral | None = None
    rejected: str | None = None
    kto_label: bool | None = None


class SwapSides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="the version you saw; a stale one gets 409")


class ExamplePublic(BaseModel):
    id: int
    dataset_id: int
    external_id: str | None
    system: str | None
    input: str
    output: str
    history: list[dict[str, Any]] | None
    label: str | None
    metadata: dict[str, Any] | None
    weight: float | None
    status: str
    rejected: str | None = None
    kto_label: bool | None = None
    content_hash: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, example) -> "ExamplePublic":
        data = {name: getattr(example, name) for name in cls.model_fields if name != "metadata"}
        return cls(**data, metadata=example.meta)


class RevisionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    example_id: int
    version: int
    field: str
    old: Any
    new: Any
    author: str
    created_at: datetime


class ImportError_(BaseModel):
    line: int
    field: str | None
    message: str


class ImportResult(BaseModel):
    imported: int
    updated: int
    skipped: int
    format: str | None = None
    errors: list[ImportError_]
    # New pairs whose input another dataset already holds ({"total": n, "by_dataset": {name: n}}); null when
    # there is no other dataset or nothing was imported.
    already_in_other_datasets: dict[str, Any] | None = None
