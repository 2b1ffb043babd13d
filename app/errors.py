"""Domain errors. Services raise these; app/api/errors.py maps them to HTTP in one place."""

from typing import Any


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class InvalidInput(DomainError):
    status_code = 422


class PayloadTooLarge(DomainError):
    status_code = 413


class Forbidden(DomainError):
    status_code = 403
