from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class CursorPage(Page[T], Generic[T]):
    """A page of a list that pages by keyset cursor (see the README's API section)."""

    total_capped: bool = False  # true: `total` is a floor (at least this many match; counting stopped)
    next_cursor: str | None = None  # pass as `cursor` for the next page; null on the last page


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict] | None = None
