"""Real processes for tests: daphne (web) and db_worker (worker), as the Procfile runs them,
pointed at the test database and at a Redis of the test's choosing."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database, as a URL the child processes can use."""
    s = connection.settings_dict
    host = quote(s["HOST"], safe="")
    return f"postgresql://{s['USER']}:{s['PASSWORD']}@/{s['NAME']}?host={host}&port={s['PORT']}"


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:
        return False


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the test process dies, so a
    killed or timed-out test run leaves no web or worker process behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# Workers of every stack running now. All stacks share the test database, so all their workers
# take tasks from one queue: a task enqueued for one stack could run in another's worker, with
# that stack's settings, pushing on that stack's channel prefix (where nobody listens). So
# while a stack has workers of its own, the other stacks' workers are paused (SIGSTOP), and
# carry on (SIGCONT) when it stops: the session's browser stack, say, while a module runs one
# with settings of its own.
_workers: list[subprocess.Popen] = []


@dataclass
class Stack:
    env: dict
    port: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    paused: list[subprocess.Popen] = field(default_factory=list)  # other stacks' workers, until stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str], tmp: Path) -> subprocess.Popen:
        log = tmp / f"{name}-{len(self.procs)}.log"
        self.logs.append(log)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        self.procs.append(proc)
        return proc

    def start_web(self, tmp: Path) -> None:
        self.port = self.port or free_port()
        self._spawn(
            "web",
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "helpdesk.asgi:application"],
            tmp,
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as r:
                return r.status == 200

        wait_for(healthy, 30, interval=0.1, ignoring=(OSError,), message=lambda: "the web to start:\n" + self.output())

    def start_worker(self, tmp: Path, interval: float = 1.0) -> subprocess.Popen:
        """As the Procfile runs it: woken by NOTIFY, polling every `interval` seconds as a safety net.
        Other stacks' workers are paused until this stack stops (see _workers)."""
        mine = {id(proc) for proc in self.procs}
        for proc in _workers:
            if id(proc) not in mine and proc.poll() is None and proc not in self.paused:
                proc.send_signal(signal.SIGSTOP)
                self.paused.append(proc)
        worker = self._spawn(
            "worker",
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                str(interval),
            ],
            tmp,
        )
        _workers.append(worker)
        return worker

    def start_mail(self, tmp: Path, port: int | None = None) -> int:
        """The receiving SMTP server (`manage.py inbound_smtp`), as the Procfile's `mail` runs
        it; returns its port once it accepts connections."""
        port = port or free_port()
        self._spawn("mail", [sys.executable, "manage.py", "inbound_smtp", "--port", str(port)], tmp)

        def listening() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        wait_for(listening, 30, interval=0.1, ignoring=(OSError,), message=lambda: "the mail server:\n" + self.output())
        return port

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs if log.exists()
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc in _workers:
                _workers.remove(proc)
        self.procs.clear()
        for proc in self.paused:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
        self.paused.clear()


def stack_env(redis_url: str | None = None) -> dict:
    prefix = f"hdtest-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url or settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "CHANNEL_PREFIX": prefix,
        "CACHE_PREFIX": prefix,
        "HELPDESK_TESTING": "1",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        # Every test client is 127.0.0.1: one IP's limit would be shared by the whole run.
        # (Tests of the limits themselves set their own: tests/realtime/test_socket_limits.py.)
        "WIDGET_RATE_LIMIT_PER_IP": "100000",
        "WIDGET_LIVE_LIMIT_PER_IP": "100000",
    }
    return env


class SocketProxy:
    """A TCP port on loopback that forwards to another address (here: PostgreSQL's unix
    socket), so a test can cut a process off its database and bring it back: `cut()` drops
    every open connection and refuses new ones; `restore()` listens again on the same port."""

    def __init__(self, target: str):
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone would leave it listening
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.cut()


def proxied_database_url(proxy: SocketProxy) -> str:
    s = connection.settings_dict
    return f"postgresql://{s['USER']}:{s['PASSWORD']}@127.0.0.1:{proxy.port}/{s['NAME']}"


def postgres_socket() -> str:
    s = connection.settings_dict
    return f"{s['HOST']}/.s.PGSQL.{s['PORT']}"
