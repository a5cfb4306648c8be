"""Request bodies and websocket messages over their limits, sent to a real daphne (the web
process as the Procfile runs it): refused before they are read, and the process does not grow."""

from __future__ import annotations

import asyncio
import json
import shlex
import socket
import sys
from contextlib import closing
from pathlib import Path

import httpx
import pytest
import websockets
from django.conf import settings

from helpdesk.accounts.models import Membership
from helpdesk.conversations import identity
from helpdesk.conversations.models import Visitor
from helpdesk.knowledge.models import Document
from helpdesk.workspace.models import Workspace
from tests import livehttp
from tests.conftest import make_member
from tests.processes import ROOT, Stack, free_port, stack_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

ORDINARY_LIMIT = 64 * 1024
DOCUMENT_LIMIT = 1024 * 1024
MB = 1024 * 1024


@pytest.fixture
def web(tmp_path, transactional_db):
    env = stack_env()
    env.update(
        {
            "REQUEST_BODY_MAX_BYTES": str(ORDINARY_LIMIT),
            "KNOWLEDGE_DOCUMENT_MAX_BYTES": str(DOCUMENT_LIMIT),
            "MEDIA_ROOT": str(tmp_path / "media"),
        }
    )
    stack = Stack(env=env)
    stack.start_web(tmp_path)
    yield stack
    stack.stop()


def _post_head(path: str, extra: str) -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n{extra}\r\n".encode()


def test_the_headers_of_a_200_mb_post_get_413_at_once_and_the_connection_closes(web):
    sock = livehttp.connect(web.port)
    # Only the headers: the body is never sent. A server that waits for it never answers
    # (and the socket's timeout fails the test).
    sock.sendall(_post_head("/healthz", f"Content-Length: {200 * MB}\r\n"))
    response = livehttp.read_response(sock)
    assert livehttp.status_of(response) == 413, response[:300]
    assert b"Connection: close" in response
    assert livehttp.closed_by_server(sock)
    sock.close()
    assert b"at most 64.0 KB" in livehttp.body_of(response)


def _chunked_post(port: int, total: int) -> tuple[bytes, int, bool]:
    sock = livehttp.connect(port)
    sock.sendall(_post_head("/healthz", "Transfer-Encoding: chunked\r\n"))
    sent = livehttp.send_chunks_until_answered(sock, total=total)
    response = livehttp.read_response(sock)
    closed = livehttp.closed_by_server(sock)
    sock.close()
    return response, sent, closed


def test_the_procfiles_web_command_refuses_it_too(tmp_path, transactional_db):
    """The Procfile starts daphne through its own command, not `python -m daphne` as the
    tests' Stack does: the limits come with the application either way."""
    web_line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    stack = Stack(env={**stack_env(), "PORT": str(free_port())})
    argv = shlex.split(web_line.removeprefix("web:").replace("${PORT:-8000}", stack.env["PORT"]))
    assert argv[0] == "daphne" and argv[-1] == "helpdesk.asgi:application"
    argv[0] = str(Path(sys.executable).parent / "daphne")
    stack._spawn("web", argv, tmp_path)
    try:
        sock = wait_for(
            lambda: socket.create_connection(("127.0.0.1", int(stack.env["PORT"])), timeout=10),
            30,
            interval=0.1,
            ignoring=(OSError,),
            message=lambda: f"the web to listen\n{stack.output()}",
        )
        sock.sendall(_post_head("/healthz", f"Content-Length: {200 * MB}\r\n"))
        assert livehttp.status_of(livehttp.read_response(sock)) == 413
        sock.close()
    finally:
        stack.stop()


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives_and_the_process_does_not_grow(web):
    pid = web.procs[0].pid
    _chunked_post(web.port, 4 * ORDINARY_LIMIT)  # a first refusal's one-off allocations, before measuring
    before = livehttp.rss_kb(pid)
    livehttp.reset_peak_rss(pid)

    response, sent, closed = _chunked_post(web.port, 96 * MB)

    grown_kb = livehttp.peak_rss_kb(pid) - before
    assert grown_kb < 8 * 1024, f"the web process grew by {grown_kb} KB"
    assert livehttp.status_of(response) == 413, response[:300]
    assert closed
    assert sent < 96 * MB
    # and it goes on serving
    assert httpx.get(f"{web.base_url}/healthz").text == "ok"


def test_an_ordinary_route_refuses_a_body_over_its_limit_the_widget_api_in_json(web):
    workspace = Workspace.objects.create(name="Acme")
    headers = {"X-Widget-Token": workspace.public_token}
    response = httpx.post(f"{web.base_url}/chat/api/visitor", headers=headers, content=b"x" * (ORDINARY_LIMIT + 1))
    assert response.status_code == 413
    assert "at most 64.0 KB" in response.json()["error"]
    assert not Visitor.objects.exists()
    # within the limit the same request works
    assert httpx.post(f"{web.base_url}/chat/api/visitor", headers=headers).status_code == 201


def test_an_upload_within_the_upload_limit_works_and_one_over_it_is_refused(web):
    workspace = Workspace.objects.create(name="Acme")
    make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    with closing(livehttp.signed_in(web.base_url, "owner@acme.test", "pw-for-tests-1")) as client:
        token = livehttp.csrf_token(client, "/settings/knowledge/document/new")
        # Larger than any ordinary route takes, within the document limit.
        ok = client.post(
            "/settings/knowledge/document/new",
            data={"csrfmiddlewaretoken": token, "title": "Returns"},
            files={"file": ("returns.txt", b"Returns are free.\n" * 40_000, "text/plain")},
        )
        assert ok.status_code == 302, ok.text[:500]
        assert Document.objects.get().title == "Returns"

        too_big = client.post(
            "/settings/knowledge/document/new",
            data={"csrfmiddlewaretoken": token, "title": "Huge"},
            files={"file": ("huge.txt", b"x" * (DOCUMENT_LIMIT + 128 * 1024), "text/plain")},
        )
        assert too_big.status_code == 413
        assert Document.objects.count() == 1


def test_a_1_mb_websocket_message_is_refused_by_the_server_before_the_application(web):
    workspace = Workspace.objects.create(name="Acme")
    _visitor, raw = identity.start_visitor(workspace)
    uri = f"{web.ws_url}/ws/chat/?token={workspace.public_token}&visitor={raw}"

    async def scenario():
        async with websockets.connect(uri, origin=web.base_url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            await ws.send("x" * 1_000_000)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd

    close = asyncio.run(scenario())
    assert close is not None and close.code == 1009
    # autobahn's own words: the server's limit, not the consumer's frame check
    assert f"exceeds payload limit of {settings.WEBSOCKET_MESSAGE_MAX_BYTES} octets" in close.reason
