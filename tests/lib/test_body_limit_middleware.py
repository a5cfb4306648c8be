"""The ASGI layer of the body limits, as any ASGI server would drive the application (daphne's
own layer is tested against a real daphne in tests/lib/test_body_limits.py)."""

from __future__ import annotations

import asyncio

import pytest
from daphne import http_protocol

from helpdesk.asgi import application
from helpdesk.lib import bodylimit, daphne_limits


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def _run(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, bytes, int]:
    """(status, body, chunks the application read)."""
    queue = list(chunks)
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        if not queue:
            await asyncio.Event().wait()  # never set: the client sends nothing more and waits for the answer
        read += 1
        body = queue.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    async def send(message):
        sent.append(message)

    async def main():
        await asyncio.wait_for(application(_scope(path, list(headers)), receive, send), 10)

    asyncio.run(main())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, read


@pytest.fixture
def small_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES = 64 * 1024
    settings.KNOWLEDGE_DOCUMENT_MAX_BYTES = 1024 * 1024


def test_a_content_length_over_the_limit_gets_413_before_the_body_is_read(small_limit):
    status, body, read = _run("/healthz", [b"x" * 1024], [(b"content-length", str(200 * 1024 * 1024).encode())])
    assert status == 413 and read == 0
    assert b"at most 64.0 KB" in body


def test_a_body_without_a_length_is_counted_and_refused_once_over(small_limit):
    chunks = [b"x" * 16 * 1024] * 100  # 1.6 MB in all
    status, body, read = _run("/healthz", chunks)
    assert status == 413
    assert read == 5  # the chunk that went over is the last one read
    assert b"at most 64.0 KB" in body


def test_a_body_within_the_limit_reaches_django(small_limit):
    status, _body, _read = _run("/healthz", [b"x" * 1024] * 4)
    assert status == 403  # Django's CSRF check: the request got through to it


def test_the_widget_api_gets_its_413_in_json(small_limit):
    status, body, _read = _run("/chat/api/messages", [b"x" * 70 * 1024])
    assert status == 413
    assert b'"error": "The request is too large' in body


def test_upload_routes_take_the_upload_limit_and_no_more(small_limit):
    assert bodylimit.limit_for("/settings/knowledge/document/new") == 1024 * 1024 + bodylimit.UPLOAD_ENVELOPE_BYTES
    assert bodylimit.limit_for("/settings/knowledge/document/7/") == bodylimit.limit_for(
        "/settings/knowledge/document/new"
    )
    assert bodylimit.limit_for("/settings/knowledge/faq/new") == 64 * 1024
    assert bodylimit.limit_for("/accounts/login/") == 64 * 1024
    assert bodylimit.limit_for("/no/such/route") == 64 * 1024
    status, _body, read = _run(
        "/settings/knowledge/document/new", [], [(b"content-length", str(2 * 1024 * 1024).encode())]
    )
    assert status == 413 and read == 0


def test_loading_the_application_installs_the_limits_into_daphne():
    assert daphne_limits.installed()
    assert issubclass(http_protocol.WebRequest, daphne_limits.LimitedRequest)
