import math
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, Field

from app.json_limits import depth_exceeds, too_deep_message

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class CursorPage(Page[T], Generic[T]):
    """A page of a list that pages by keyset cursor (see the README's API section)."""

    total: int | None  # null: not counted (`count=none`)
    total_capped: bool = False  # true: `total` is a floor (at least this many match; counting stopped)
    next_cursor: str | None = None  # pass as `cursor` for the next page; null on the last page


class ErrorBody(BaseModel):
    detail: str
    errors: list[dict] | None = None


# -- what every JSON value and text from a client must satisfy -----------------------------------
# One nesting limit (app/json_limits.py) everywhere, finite numbers only (the importer refuses NaN and
# Infinity too), and for a dataset's definition (name, labels, schema, settings) text that both
# databases can store: no NUL, no lone surrogate. Example text follows the importer instead: NUL and
# lone surrogates become U+FFFD on storage, and the `format` check flags them.

def json_problem(value: Any, *, definition: bool) -> str | None:
    """Why `value` may not be stored, or None. Iterative, so any nesting depth is safe to inspect."""
    if depth_exceeds(value):
        return f"the value {too_deep_message()}"
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "NaN and Infinity are not valid JSON numbers"
        if isinstance(item, str) and definition and (problem := text_problem(item)):
            return problem
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "text must not contain a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff): it is not valid Unicode"
    return None


def check_json_data(value: Any) -> Any:
    if (problem := json_problem(value, definition=False)) is not None:
        raise ValueError(problem)
    return value


def check_json_definition(value: Any) -> Any:
    if (problem := json_problem(value, definition=True)) is not None:
        raise ValueError(problem)
    return value


def check_definition_text(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)) is not None:
        raise ValueError(problem)
    return value


# JSON that examples carry (metadata, history): nesting limit, finite numbers.
JsonData = Annotated[dict[str, Any], BeforeValidator(check_json_data)]
# JSON that defines a dataset (settings, output schema): also text both databases can store.
JsonDefinition = Annotated[dict[str, Any], BeforeValidator(check_json_definition)]
DefinitionText = Annotated[str, BeforeValidator(check_definition_text)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
