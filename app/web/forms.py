"""Turn HTML form fields into the API's request models, with errors per field."""

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app.errors import DomainError


async def read_form(request: Request) -> FormData:
    return await request.form()


# The form is read on the event loop; the route itself can then be a plain `def`, which FastAPI
# runs in its threadpool, so a slow query or a SQLite lock wait never blocks other requests.
FormDep = Annotated[FormData, Depends(read_form)]


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def split_labels(text: str) -> list[str] | None:
    """Labels typed one per line or separated by commas; empty means no label set."""
    labels = [part.strip() for line in text.splitlines() for part in line.split(",")]
    labels = [label for label in labels if label]
    return labels or None


def parse_json_object(text: str, field: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormErrors({field: f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"}) from exc
    if not isinstance(value, dict):
        raise FormErrors({field: "must be a JSON object"})
    return value


def build(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    try:
        return model(**values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0]) if error.get("loc") else "form"
            errors.setdefault(field, error["msg"].removeprefix("Value error, "))
        raise FormErrors(errors) from exc


def domain_field_errors(exc: DomainError, default_field: str = "form") -> dict[str, str]:
    return {str(exc.details.get("field") or default_field): exc.message}
