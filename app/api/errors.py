"""Domain errors and request-validation errors as JSON, in one place."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from app.errors import DomainError


def _field_of(loc: tuple) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or None


# What the handlers below really send for a 422, replacing FastAPI's default `detail: [...]` in the
# OpenAPI schema so that clients (and the schemathesis fuzz) see the true shape.
VALIDATION_ERROR_SCHEMA = {
    "title": "HTTPValidationError", "type": "object", "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, and where"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "message": {"type": "string"},
            "type": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}},
    },
}


def _document_validation_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.get("components", {}).get("schemas", {})
            if "HTTPValidationError" in schemas:
                schemas["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
        return app.openapi_schema

    app.openapi = openapi


def install(app: FastAPI) -> None:
    _document_validation_errors(app)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # e.g. an id of 2**63 in a path: SQLite cannot bind it, Postgres refuses it ("out of range").
        return JSONResponse({"detail": "a number in the request is out of the range the database can store"},
                            status_code=422)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.details}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid"),
                   "type": e.get("type")} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        detail = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
