"""Browser tests: Debian's Chromium driven by Playwright against real web and worker processes,
with the widget embedded in a host page served from another origin.

They run in their own pytest process (see the Makefile): Playwright's sync API keeps an event
loop in the main thread, which the Django ORM would otherwise refuse to run beside.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from helpdesk.ops import demo
from tests.processes import ROOT, Stack, free_port, stack_env

ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    for candidate in (
        os.environ.get("CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("Chromium is not installed: apt-get install chromium (the .ci/run script does)")


@pytest.fixture(scope="session")
def llm():
    from tests.llm_stub import LLMStub

    stub = LLMStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def stack(django_db_setup, django_db_blocker, tmp_path_factory, llm):
    with django_db_blocker.unblock():
        env = stack_env()
        env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test")
        s = Stack(env=env)
        tmp = tmp_path_factory.mktemp("stack")
        s.start_web(tmp)
        s.start_worker(tmp)
    yield s
    s.stop()


class HostSite:
    """A plain site on another origin (another port) that pastes the embed snippet."""

    def __init__(self):
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, workspace, server: str, path: str = "/") -> str:
        self.pages[path] = demo.host_page(workspace, server)
        return self.origin + path


@pytest.fixture(scope="session")
def host_site():
    site = HostSite()
    yield site
    site.server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # The ORM beside Playwright's loop; browser tests run last, so no other test sees this.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
