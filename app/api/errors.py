"""Domain errors and request-validation errors as JSON, in one place."""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError
from app.json_limits import too_deep_message


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
        cause = str(getattr(exc, "orig", exc))
        if "0x00" in cause or "NUL" in cause:  # Postgres text cannot hold NUL (e.g. in a search)
            return JSONResponse({"detail": "text in the request contains a NUL character (\\u0000), "
                                           "which cannot be stored or searched for"}, status_code=422)
        # e.g. an id of 2**63 in a path: SQLite cannot bind it, Postgres refuses it ("out of range").
        return JSONResponse({"detail": "a number in the request is out of the range the database can store"},
                            status_code=422)

    @app.exception_handler(UnicodeEncodeError)
    async def invalid_unicode(request: Request, exc: UnicodeEncodeError) -> JSONResponse:
        return JSONResponse({"detail": "text in the request contains a lone UTF-16 surrogate (\\ud800-\\udfff), "
                                       "which is not valid Unicode"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if isinstance(exc.__cause__, RecursionError):  # JSON too deep for the parser itself
            return JSONResponse({"detail": f"the request body {too_deep_message()}"}, status_code=422)
        return await http_exception_handler(request, exc)

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
