"""Request body limits: a body over its route's limit is refused with 413 before it is read.

Every route takes REQUEST_BODY_MAX_BYTES (JSON, forms, sign-in), except views marked with
`@accepts_upload`, which take the upload limit: KNOWLEDGE_DOCUMENT_MAX_BYTES plus room for the
multipart envelope (the other fields, boundaries and part headers), and views marked with
`@accepts_mail` (email providers' inbound webhooks), which take a mail of INBOUND_EMAIL_MAX_BYTES,
and views marked with `@accepts_attachments` (a message with its files).

Two layers enforce the same limits:
- daphne's own request handling (helpdesk.lib.daphne_limits, installed by helpdesk/asgi.py).
  daphne reads a whole body into memory before the application sees any of it, so only there
  can a body be refused unread: by its Content-Length once the headers are in, or by counting
  a chunked body as it arrives. This is the layer that protects the web process's memory.
- `BodyLimitMiddleware`, at the ASGI level, so that the limits also hold under any other ASGI
  server (and are checked twice under daphne): by Content-Length before the application runs,
  and by counting the `http.request` chunks as the application reads them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve

# The fields of the upload form besides the file (title, CSRF token), the boundaries and the
# part headers: a few KB at most; the rest of the room is slack.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


def accepts_upload(view: Callable) -> Callable:
    """Mark a view whose requests may carry an uploaded file (up to the upload limit)."""
    view.accepts_upload = True  # type: ignore[attr-defined]
    return view


def accepts_mail(view: Callable) -> Callable:
    """Mark a view that takes a whole email in its body (a provider's inbound webhook)."""
    view.accepts_mail = True  # type: ignore[attr-defined]
    return view


def accepts_attachments(view: Callable) -> Callable:
    """Mark a view that takes a message with its files (ATTACHMENT_MAX_FILES of ATTACHMENT_MAX_BYTES)."""
    view.accepts_attachments = True  # type: ignore[attr-defined]
    return view


def attachments_limit() -> int:
    return max(
        settings.ATTACHMENT_MAX_FILES * settings.ATTACHMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES,
        settings.REQUEST_BODY_MAX_BYTES,
    )


def mail_limit() -> int:
    """A mail of INBOUND_EMAIL_MAX_BYTES, as a form field (escaped, at most twice its size)."""
    return max(2 * settings.INBOUND_EMAIL_MAX_BYTES + UPLOAD_ENVELOPE_BYTES, settings.REQUEST_BODY_MAX_BYTES)


def upload_limit() -> int:
    return max(settings.KNOWLEDGE_DOCUMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES, settings.REQUEST_BODY_MAX_BYTES)


def limit_for(path: str | None) -> int:
    """The largest body the route of `path` accepts (a path nothing routes: the ordinary limit)."""
    if path is None:
        return settings.REQUEST_BODY_MAX_BYTES
    try:
        match = resolve(path)
    except Resolver404:
        return settings.REQUEST_BODY_MAX_BYTES
    if getattr(match.func, "accepts_upload", False):
        return upload_limit()
    if getattr(match.func, "accepts_mail", False):
        return mail_limit()
    if getattr(match.func, "accepts_attachments", False):
        return attachments_limit()
    return settings.REQUEST_BODY_MAX_BYTES


def over_limit(path: str | None, size: int) -> int | None:
    """The route's limit if `size` bytes are over it, else None. A body within the ordinary
    limit is within every route's, and needs no look-up."""
    if size <= settings.REQUEST_BODY_MAX_BYTES:
        return None
    limit = limit_for(path)
    return limit if size > limit else None


def refusal(path: str | None, limit: int) -> tuple[bytes, bytes]:
    """(content type, body) of the 413: JSON for the widget's API (which shows `error`), text otherwise."""
    message = f"The request is too large: this address accepts at most {filesizeformat(limit)}. Nothing was saved."
    message = message.replace("\xa0", " ")
    if path is not None and path.startswith("/chat/api/"):
        return b"application/json", json.dumps({"error": message}).encode()
    return b"text/plain; charset=utf-8", message.encode() + b"\n"


def content_length(headers) -> int | None:
    """The largest Content-Length among (name, value) byte pairs; None if there is none or it is not a number."""
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    try:
        return max(int(value) for value in lengths) if lengths else None
    except ValueError:
        return None


class BodyTooLarge(Exception):
    """Raised from `receive` once the body read so far is over the route's limit."""


class BodyLimitMiddleware:
    """The ASGI layer of the limits (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path")
        declared = content_length(scope.get("headers", []))
        if declared is not None and (limit := over_limit(path, declared)) is not None:
            return await _send_refusal(send, path, limit)

        received = 0
        refused: int | None = None
        started = False

        async def counted_receive():
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if (limit := over_limit(path, received)) is not None:
                    refused = limit
                    raise BodyTooLarge(f"request body over {limit} bytes")
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if refused is None or started:
                raise
            await _send_refusal(send, path, refused)


async def _send_refusal(send, path: str | None, limit: int) -> None:
    content_type, body = refusal(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
