"""Request bodies: size limits (413) and spooling uploads to disk instead of memory."""

import asyncio
import logging
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import InvalidInput, PayloadTooLarge

log = logging.getLogger("winnow.uploads")
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
DISCONNECT_POLL_SECONDS = 0.5
UPLOAD_PATH_SUFFIXES = ("/import", "/upload")


@dataclass
class Upload:
    file: IO[bytes]
    filename: str | None
    content_type: str | None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than the limit of {limit} bytes", limit=limit)


class BodyLimitMiddleware:
    """Refuse bodies over the limit: at once when Content-Length says so, else while reading."""

    def __init__(self, app: ASGIApp, *, upload_limit: int, request_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.request_limit = request_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.upload_limit if path.endswith(UPLOAD_PATH_SUFFIXES) else self.request_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, limit: int) -> None:
    body = f'{{"detail": "request body is larger than the limit of {limit} bytes", "limit": {limit}}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@asynccontextmanager
async def spool_request_body(request: Request, limit: int) -> AsyncIterator[Upload]:
    """The uploaded file: the `file` field of a multipart form, or else the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_part_size=limit) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("the multipart form needs the file in a field named 'file'", field="file")
            yield Upload(file=upload.file, filename=upload.filename, content_type=upload.content_type)
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            spool.write(chunk)
        spool.seek(0)
        yield Upload(file=spool, filename=None, content_type=content_type)


@asynccontextmanager
async def stop_on_disconnect(request: Request) -> AsyncIterator[threading.Event]:
    """An event set when the client goes away, for work in a thread to stop at (an import reads it as
    `ImportSource.stop`): nobody is waiting for the answer, so the work would only waste the machine."""
    stop = threading.Event()

    async def watch() -> None:
        while not stop.is_set():
            if await request.is_disconnected():
                log.warning("%s %s: the client disconnected; stopping the work", request.method, request.url.path)
                stop.set()
                return
            await asyncio.sleep(DISCONNECT_POLL_SECONDS)

    watcher = asyncio.create_task(watch())
    try:
        yield stop
    finally:
        watcher.cancel()
