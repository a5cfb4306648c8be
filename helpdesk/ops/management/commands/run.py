"""`make run`: everything in one command.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), migrates,
seeds the demo, starts the web and worker processes as in the Procfile and a demo host page
on another port, prints where to go, and on Ctrl-C stops all of it, embedded services included.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from helpdesk.lib import embedded
from helpdesk.ops import demo


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise CommandError("no free port")


class _DemoSite(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _serve_demo(port: int, page: str) -> _DemoSite:
    body = page.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in ("/", "/index.html"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = _DemoSite(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Command(BaseCommand):
    help = "Run the whole product locally: web, worker, embedded services and a demo site."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000") or 8000))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port: int, host: str, **options):
        if not 0 < port < 65536:
            raise CommandError(f"PORT must be between 1 and 65535, got {port}")
        self.children: list[subprocess.Popen] = []
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        demo_site = None
        try:
            call_command("migrate", interactive=False, verbosity=0)
            if settings.COLLECTED_STATIC:
                call_command("collectstatic", interactive=False, verbosity=0)
            workspace = demo.seed()
            login = demo.login()
            server = f"http://127.0.0.1:{port}"
            demo_port = _free_port(port + 1 if port < 65535 else 0)
            demo_site = _serve_demo(demo_port, demo.host_page(workspace, server))
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
            self._spawn("web", [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "helpdesk.asgi:application"], env)
            self._spawn("worker", [*manage, "db_worker", "--no-reload", "--no-startup-delay"], env)
            self._wait_ready(f"{server}/healthz")
            self.stdout.write(f"Inbox:     {server}/inbox/")
            self.stdout.write(f"Login:     {login}")
            self.stdout.write(f"Demo site: http://127.0.0.1:{demo_port}/")
            self.stdout.flush()
            while not self.stopping:
                for child in self.children:
                    if child.poll() is not None:
                        raise CommandError(f"{child.args[0]} exited with code {child.returncode}")
                time.sleep(0.5)
        finally:
            self._stop_children()
            if demo_site is not None:
                demo_site.shutdown()
            self._stop_services()

    def _spawn(self, name: str, argv: list[str], env: dict) -> None:
        # Own process group: the terminal's Ctrl-C reaches us, and we stop the children in order.
        self.children.append(subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR, start_new_session=True))

    def _wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stopping:
            for child in self.children:
                if child.poll() is not None:
                    raise CommandError(f"{child.args[0]} exited with code {child.returncode} during start-up")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        if not self.stopping:
            raise CommandError(f"the web process did not answer {url} within 60 s")

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _stop_children(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _stop_services(self) -> None:
        from django.db import connections

        connections.close_all()
        if settings.EMBEDDED_REDIS:
            embedded.stop_redis(settings.RUN_DIR)
        if not settings.DATABASE_URL:
            embedded.stop_postgres(settings.PGDATA)
        self.stdout.write("Stopped.")
