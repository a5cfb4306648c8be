"""`make run` runs `manage.py run`: one command starts everything, prints where to go, and
stops everything on Ctrl-C, the embedded PostgreSQL and Redis included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from helpdesk.lib import embedded
from tests.processes import ROOT, free_port

pytestmark = pytest.mark.processes


def _alive(pid: int) -> bool:
    """Running, and not a zombie left for an init that does not reap (as in containers)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_run_starts_everything_prints_three_lines_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env.update(PORT=str(port), HELPDESK_PGDATA=str(tmp_path / "pgdata"), HELPDESK_RUN_DIR=str(tmp_path / "run"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while not any(line.startswith("Demo site:") for line in lines):
            assert time.monotonic() < deadline, "\n".join(lines)
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "\n".join(lines)
            lines.append(line.rstrip("\n"))
        printed = [line for line in lines if line.split(":")[0] in ("Inbox", "Login", "Demo site")]
        assert printed[0] == f"Inbox:     http://127.0.0.1:{port}/inbox/"
        assert printed[1].startswith("Login:     admin@example.com / ")
        assert printed[2].startswith("Demo site: http://127.0.0.1:")
        demo_url = printed[2].split(" ", 2)[-1].strip()
        assert f":{port}/" not in demo_url  # another origin

        with urllib.request.urlopen(demo_url, timeout=5) as r:
            page = r.read().decode()
        assert f'src="http://127.0.0.1:{port}/embed.js"' in page and "HelpdeskWidget" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            assert r.status == 200
        # its web process refuses an oversized body from its headers alone (helpdesk.lib.daphne_limits)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 209715200\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 413 ")

        pg_pid = int((tmp_path / "pgdata" / "postmaster.pid").read_text().split()[0])
        redis_pid = int((tmp_path / "run" / "redis.pid").read_text().strip())
        assert _alive(pg_pid) and _alive(redis_pid)
        # The new data folder's server was settled to its buffer cache size (and restarted once).
        _status, pg_port, socket_dir = embedded._postmaster(tmp_path / "pgdata")
        with psycopg.connect(host=socket_dir, port=pg_port, user="postgres", dbname="postgres") as conn:
            assert conn.execute("SHOW shared_buffers").fetchone()[0] == f"{embedded.shared_buffers_mb()}MB"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            rest = proc.communicate()[0]
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists()
    assert not _alive(pg_pid)
    assert not _alive(redis_pid)
