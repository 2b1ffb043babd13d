"""Small query helpers every service uses."""

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlmodel import Session

from app.errors import NotFound

T = TypeVar("T")


def get_or_not_found(session: Session, model: type[T], key: int, noun: str) -> T:
    """The row with this primary key, or NotFound naming what was missing."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{noun} {key} not found")
    return row


def paged(session: Session, query: Select, *order_by: Any, limit: int, offset: int) -> tuple[list, int]:
    """(one page of `query` in `order_by` order, the total number of matching rows)."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(*order_by).limit(limit).offset(offset))), total
