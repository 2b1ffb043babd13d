"""HTML routes: domain errors become an HTML page or fragment (not the JSON of /api/v1)."""

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from app.errors import DomainError
from app.web.templating import is_htmx, render


def error_response(request: Request, exc: DomainError) -> Response:
    context = {"message": exc.message, "status_code": exc.status_code, "details": exc.details}
    if is_htmx(request):
        # Shown in the page's flash area, whatever element the request meant to replace.
        return render(request, "error.html", context, block="error", status_code=exc.status_code,
                      headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return render(request, "error.html", context, status_code=exc.status_code)


class HTMLRoute(APIRoute):
    """An APIRoute whose domain errors (dependencies included, e.g. CSRF) render as HTML."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                return error_response(request, exc)

        return html_errors
