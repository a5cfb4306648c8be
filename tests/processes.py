"""Real processes for tests: daphne (web) and db_worker (worker), as the Procfile runs them,
pointed at the test database and at a Redis of the test's choosing."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

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


@dataclass
class Stack:
    env: dict
    port: int = 0
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

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
        self._spawn("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "helpdesk.asgi:application"], tmp)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("web did not start:\n" + self.output())
            time.sleep(0.1)

    def start_worker(self, tmp: Path, interval: float = 1.0) -> subprocess.Popen:
        """As the Procfile runs it: woken by NOTIFY, polling every `interval` seconds as a safety net."""
        return self._spawn(
            "worker", [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", str(interval)], tmp
        )

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs if log.exists())

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
        self.procs.clear()


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
    }
    return env
