"""Turn HTML form fields into the API's request models, with errors per field."""

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from app.errors import DomainError


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
