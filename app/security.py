"""Security headers on every response (pages, API, static files, errors).

The Content-Security-Policy allows scripts, styles and everything else only from this origin:
no inline scripts (static/app.js holds all of the pages' JavaScript), no framing by other sites.
The interactive API docs (/docs, /redoc) load FastAPI's Swagger/ReDoc bundles from a CDN and run
one inline script; they get a relaxed policy of their own, and hold no data.
"""

import unicodedata
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")

BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


class SecurityHeadersMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so streaming responses and uploads are not buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        policy = DOCS_CONTENT_SECURITY_POLICY if path.startswith(DOCS_PATHS) else CONTENT_SECURITY_POLICY
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = {**BASE_HEADERS, "content-security-policy": policy}
                if https:
                    extra["strict-transport-security"] = "max-age=31536000"
                if path.startswith("/api/") and b"cache-control" not in present:
                    extra["cache-control"] = "no-store"  # private data must not linger in shared caches
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app) -> None:
    app.add_middleware(SecurityHeadersMiddleware)


def safe_local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: the one check for every redirect or link built
    from user input (`?next=`, `?back=`). Browsers drop tabs and newlines from URLs and read a backslash as
    a slash, so `/\\evil.example`, `/<tab>/evil.example` and `//evil.example` all lead off-site: any control
    character, whitespace or backslash is refused, as is anything with a scheme or a host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
