"""A real daphne process per test module (`web`), for tests of what the server does on the wire:
close codes, its log, limits across sockets. A module sets STACK_ENV to change its settings."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.processes import Stack, stack_env
from tests.waiting import wait_for_async


@pytest.fixture(scope="module")
def web(request, django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        env = {**stack_env(), **getattr(request.module, "STACK_ENV", {})}
    stack = Stack(env=env)
    stack.start_web(tmp_path_factory.mktemp("web"))
    yield stack
    stack.stop()


class WebLog:
    """The web process's log from a mark on."""

    def __init__(self, stack: Stack):
        self.path = stack.logs[0]
        self.start = self.path.stat().st_size

    def text(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            return f.read().decode(errors="replace")

    async def wait_for(self, needle: str, timeout: float = 5) -> str:
        """The log once `needle` is in it."""
        return await wait_for_async(
            lambda: needle in (text := self.text()) and text, timeout, message=lambda: f"{needle!r} in\n{self.text()}"
        )


@pytest.fixture
def web_log(web) -> WebLog:
    return WebLog(web)


def widget_uri(stack: Stack, workspace, raw_visitor: str) -> str:
    return f"{stack.ws_url}/ws/chat/?token={workspace.public_token}&visitor={raw_visitor}"


def connect(stack: Stack, uri: str, ip: str | None = None, headers: dict | None = None, **kwargs):
    """A websocket from the test, as a browser on the helpdesk's origin; `ip` is sent as
    X-Forwarded-For (the web process trusts one proxy in the modules that set NUM_PROXIES=1)."""
    headers = {**(headers or {}), **({"X-Forwarded-For": ip} if ip else {})}
    return websockets.connect(uri, origin=stack.base_url, additional_headers=headers or None, **kwargs)


async def close_code(ws, timeout: float = 5) -> int | None:
    """Wait for the server to close the socket; its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def receive_until_quiet(ws, quiet: float = 0.5, timeout: float = 10) -> list[str]:
    """Every frame received until nothing came for `quiet` seconds (or `timeout` has passed)."""
    frames = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                frames.append(await asyncio.wait_for(ws.recv(), quiet))
    except (TimeoutError, websockets.ConnectionClosed):
        return frames


def frame(kind: str, **fields) -> str:
    return json.dumps({"type": kind, **fields})
