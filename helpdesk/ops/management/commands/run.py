"""`make run`: everything in one command.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL are set), migrates,
seeds the demo, starts the web and worker processes as in the Procfile and a demo host page
on another port, and prints where to go. It then keeps them running: a web or worker process
that dies is started again (with a back-off), and so are the embedded services; each death is
one line of output. Only Ctrl-C or SIGTERM stops it all: the web and worker first, then the
demo site, then the embedded Redis and PostgreSQL.
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
from django.db import connections

from helpdesk.lib import embedded
from helpdesk.ops import demo
from helpdesk.ops.supervisor import Child, Service, Supervisor, clock


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


def processes(host: str, port: int, mail_port: int) -> list[tuple[str, list[str]]]:
    """The Procfile's processes that `make run` starts and keeps running: (name, argv)."""
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    return [
        ("web", [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "helpdesk.asgi:application"]),
        ("worker", [*manage, "db_worker", "--no-reload", "--no-startup-delay"]),
        ("mail", [*manage, "inbound_smtp", "--host", settings.INBOUND_SMTP_HOST, "--port", str(mail_port)]),
    ]


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _services() -> list[Service]:
    """The embedded services in use: watched, and started again if they die."""
    run_dir, pgdata = settings.RUN_DIR, settings.PGDATA
    services = []
    if settings.EMBEDDED_REDIS:
        services.append(
            Service(
                "the embedded Redis", lambda: embedded.redis_running(run_dir), lambda: embedded.ensure_redis(run_dir)
            )
        )
    if not settings.DATABASE_URL:
        services.append(
            Service(
                "the embedded PostgreSQL",
                lambda: embedded.postgres_running(pgdata),
                lambda: embedded.ensure_postgres(pgdata, run_dir),
            )
        )
    return services


def _let_go_of_the_database() -> None:
    """This process is done with the database: hold no connection (nor a pool of them) while
    the embedded PostgreSQL may be restarted under it."""
    connections.close_all()
    for connection in connections.all(initialized_only=True):
        if hasattr(connection, "close_pool"):
            connection.close_pool()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the whole product locally: web, worker, embedded services and a demo site."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000") or 8000))
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port: int, host: str, **options):
        if not 0 < port < 65536:
            raise CommandError(f"PORT must be between 1 and 65535, got {port}")
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The links in emails lead here unless the operator says otherwise.
        self.env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
        supervisor = Supervisor(spawn=self._spawn, say=self._say)
        demo_site = None
        try:
            call_command("migrate", interactive=False, verbosity=0)
            if settings.COLLECTED_STATIC:
                call_command("collectstatic", interactive=False, verbosity=0)
            workspace = demo.seed()
            login = demo.login()
            _let_go_of_the_database()
            server = f"http://127.0.0.1:{port}"
            demo_port = _free_port(port + 1 if port < 65535 else 0)
            demo_site = _serve_demo(demo_port, demo.host_page(workspace, server))
            mail_port = _free_port(settings.INBOUND_SMTP_PORT)
            supervisor.children = [Child(name, argv) for name, argv in processes(host, port, mail_port)]
            supervisor.services = _services()
            ready = [
                f"Inbox:     {server}/inbox/",
                f"Login:     {login}",
                f"Demo site: http://127.0.0.1:{demo_port}/",
                f"Email in:  smtp://{settings.INBOUND_SMTP_HOST}:{mail_port}  (write to {demo.support_address(workspace)})",
            ]
            self.mail = (settings.INBOUND_SMTP_HOST, mail_port)
            self._supervise(supervisor, f"{server}/healthz", ready)
        finally:
            self._stop_children(supervisor.children)
            if demo_site is not None:
                demo_site.shutdown()
            self._stop_services()

    def _supervise(self, supervisor: Supervisor, healthz: str, ready_lines: list[str]) -> None:
        """Until Ctrl-C or SIGTERM: restart what dies; print where to go once the web answers."""
        web = next(child for child in supervisor.children if child.name == "web")
        slow_said_for = None
        while not self.stopping:
            now = time.monotonic()
            supervisor.tick(now)
            if supervisor.starting and _answers(healthz) and _listening(*self.mail):
                supervisor.starting = False
                for line in ready_lines:
                    self.stdout.write(line)
                self.stdout.flush()
            elif (
                supervisor.starting and web.proc is not None and now - web.started_at > 60 and slow_said_for != web.proc
            ):
                slow_said_for = web.proc
                self._say(f"{clock()} web (pid {web.proc.pid}) has not answered {healthz} within 60 s; still waiting")
            due = supervisor.next_due()
            time.sleep(0.5 if due is None else min(0.5, max(0.0, due - time.monotonic())))

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _spawn(self, child: Child) -> subprocess.Popen:
        # Own process group: the terminal's Ctrl-C reaches us, and we stop the children in order.
        return subprocess.Popen(child.argv, env=self.env, cwd=settings.BASE_DIR, start_new_session=True)

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _stop_children(self, children: list[Child]) -> None:
        running = [child.proc for child in children if child.proc is not None]
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _stop_services(self) -> None:
        _let_go_of_the_database()
        if settings.EMBEDDED_REDIS:
            embedded.stop_redis(settings.RUN_DIR)
        if not settings.DATABASE_URL:
            embedded.stop_postgres(settings.PGDATA)
        self.stdout.write("Stopped.")
