from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict] | None = None
