"""`make run` runs `manage.py run`: one command starts everything, prints where to go, keeps it
running (a process that dies is started again, and the web keeps answering meanwhile), and
stops everything on Ctrl-C, the embedded PostgreSQL and Redis included.

Starting the embedded PostgreSQL in a new data folder is slow, so the tests of this module
share one `manage.py run`, in the order they are written: the last one stops it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import psycopg
import pytest

from helpdesk.lib import embedded
from tests.processes import ROOT, free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.processes

KILLED = r"^\d\d:\d\d:\d\d {name} \(pid {pid}\) was killed by SIGKILL; restarting it in \d+ s$"


def _alive(pid: int) -> bool:
    """Running, and not a zombie left for an init that does not reap (as in containers)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


class Run:
    """A `manage.py run` in a temporary HELPDESK_PGDATA / HELPDESK_RUN_DIR, its output read as it comes."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")
        }
        env.update(
            PORT=str(self.port),
            HELPDESK_PGDATA=str(tmp / "pgdata"),
            HELPDESK_RUN_DIR=str(tmp / "run"),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def until(self, done, seconds: float, *, every=None):
        """Look until `done()` is true; `every()` runs at each look (and must not fail)."""

        def look():
            if every is not None:
                every()
            result = done()
            assert result or self.proc.poll() is None, (
                f"manage.py run exited with {self.proc.returncode}:\n{self.output}"
            )
            return result

        return wait_for(look, seconds, message=lambda: f"manage.py run; output so far:\n{self.output}")

    def line(self, pattern: str, after: int = 0) -> str | None:
        return next((line for line in self.lines[after:] if re.match(pattern, line)), None)

    def child(self, name: str) -> psutil.Process | None:
        """The run command's web (daphne) or worker (db_worker) process, if one is running."""
        marker = {"web": "daphne", "worker": "db_worker"}[name]
        for child in psutil.Process(self.proc.pid).children():
            try:
                if any(marker in part for part in child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    return child
            except psutil.NoSuchProcess:
                continue
        return None

    def get(self, path: str, timeout: float = 5) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"{self.base}{path}", timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""
        except OSError:  # refused, reset, timed out
            return 0, ""

    def healthy(self) -> None:
        assert self.get("/healthz")[0] == 200

    def pg_pid(self) -> int:
        return int((self.tmp / "pgdata" / "postmaster.pid").read_text().split()[0])

    def redis_pid(self) -> int:
        return int((self.tmp / "run" / "redis.pid").read_text().strip())

    def sql(self, query: str, *params):
        _status, port, socket_dir = embedded._postmaster(self.tmp / "pgdata")
        with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres") as conn:
            return conn.execute(query, params).fetchone()

    def interrupt(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        return self.output


@pytest.fixture(scope="module")
def run():
    # Not under pytest's own temporary folder: as root, PostgreSQL runs as the `pgserver` user,
    # and any pytest session that starts meanwhile makes that folder private again (0700).
    tmp = Path(tempfile.mkdtemp(prefix="helpdesk-make-run-"))
    run = Run(tmp)
    try:
        run.until(lambda: run.line("^Email in:"), 90)
        yield run
    finally:
        if run.proc.poll() is None:
            run.interrupt()
        # Whatever happened above, leave no embedded service behind.
        try:
            embedded.stop_redis(run.tmp / "run")
            embedded.stop_postgres(run.tmp / "pgdata")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


DEMO_MAIL = b"From: carol@example.org\r\nSubject: Hello\r\nMessage-ID: <demo-1@example.org>\r\n\r\nIs anyone there?\r\n"


def test_run_starts_everything_and_prints_four_lines(run):
    printed = [line for line in run.lines if line.split(":")[0] in ("Inbox", "Login", "Demo site", "Email in")]
    assert printed[0] == f"Inbox:     {run.base}/inbox/"
    assert printed[1].startswith("Login:     admin@example.com / ")
    password = printed[1].split(" / ", 1)[1]
    assert password == (run.tmp / "run" / "demo_password").read_text()  # a fresh database: the seeded one
    assert printed[2].startswith("Demo site: http://127.0.0.1:")
    demo_url = printed[2].split(" ", 2)[-1].strip()
    assert f":{run.port}/" not in demo_url  # another origin
    email_in = re.fullmatch(r"Email in:  smtp://127\.0\.0\.1:(\d+)  \(write to (\S+@mail\.localhost)\)", printed[3])
    assert email_in, printed[3]
    # A mail to that address becomes a conversation of the demo workspace.
    with smtplib.SMTP("127.0.0.1", int(email_in.group(1)), timeout=10) as smtp:
        assert smtp.sendmail("carol@example.org", [email_in.group(2)], DEMO_MAIL) == {}
    assert run.sql("SELECT count(*) FROM conversations_conversation WHERE channel = 'email'")[0] == 1

    with urllib.request.urlopen(demo_url, timeout=5) as r:
        page = r.read().decode()
    assert f'src="http://127.0.0.1:{run.port}/embed.js"' in page and "HelpdeskWidget" in page
    assert run.get("/accounts/login/")[0] == 200
    # its web process refuses an oversized body from its headers alone (helpdesk.lib.daphne_limits)
    with socket.create_connection(("127.0.0.1", run.port), timeout=10) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 209715200\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 413 ")

    assert _alive(run.pg_pid()) and _alive(run.redis_pid())
    # The new data folder's server was settled to its buffer cache size (and restarted once).
    assert run.sql("SHOW shared_buffers")[0] == f"{embedded.shared_buffers_mb()}MB"


def test_a_killed_worker_is_restarted_and_runs_the_next_task_while_the_web_keeps_answering(run):
    old = run.child("worker")
    assert old is not None and run.child("web") is not None
    os.kill(old.pid, signal.SIGKILL)

    def restarted():
        new = run.child("worker")
        return run.line(KILLED.format(name="worker", pid=old.pid)) and new is not None and new.pid != old.pid

    run.until(restarted, 30, every=run.healthy)
    assert run.proc.poll() is None

    enqueue = "from helpdesk.conversations.tasks import send_away_reply; print(send_away_reply.enqueue(0).id)"
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", enqueue],
        cwd=ROOT,
        env=run.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.returncode == 0, shell.stderr
    task_id = shell.stdout.split()[-1]

    def finished():
        status = run.sql("SELECT status FROM django_tasks_database_dbtaskresult WHERE id = %s", task_id)[0]
        return status if status in ("SUCCESSFUL", "FAILED") else None

    assert run.until(finished, 30, every=run.healthy) == "SUCCESSFUL"


def test_a_killed_redis_is_started_again_and_the_web_answers(run):
    old = run.redis_pid()
    seen = len(run.lines)
    os.kill(old, signal.SIGKILL)

    def back():
        return (
            run.line(r"^\d\d:\d\d:\d\d the embedded Redis had stopped; started it again$", after=seen)
            and run.redis_pid() != old
            and embedded._redis_alive(embedded.redis_socket_path(run.tmp / "run"))
        )

    run.until(back, 30, every=run.healthy)
    assert _alive(run.redis_pid())
    run.healthy()


def test_a_killed_postgres_is_started_again_and_the_web_reads_from_it_again(run):
    demo_url = run.line("^Demo site:").split(" ", 2)[-1].strip()
    with urllib.request.urlopen(demo_url, timeout=5) as r:
        token = re.search(r'"token": "([^"]+)"', r.read().decode()).group(1)
    assert run.get(f"/chat?token={token}", timeout=15)[0] == 200
    old = run.pg_pid()
    seen = len(run.lines)
    os.kill(old, signal.SIGKILL)

    def back():
        return (
            run.line(r"^\d\d:\d\d:\d\d the embedded PostgreSQL had stopped; started it again$", after=seen)
            and embedded.postgres_running(run.tmp / "pgdata")
            and run.pg_pid() != old
        )

    run.until(back, 45, every=run.healthy)
    run.until(lambda: run.get(f"/chat?token={token}", timeout=15)[0] == 200, 30, every=run.healthy)


def test_a_killed_web_process_is_restarted(run):
    old = run.child("web")
    os.kill(old.pid, signal.SIGKILL)

    def answering_again():
        new = run.child("web")
        return (
            run.line(KILLED.format(name="web", pid=old.pid))
            and new is not None
            and new.pid != old.pid
            and run.get("/healthz", timeout=2)[0] == 200
        )

    run.until(answering_again, 30)


def test_ctrl_c_stops_everything_and_leaves_no_process(run):
    pids = [child.pid for child in psutil.Process(run.proc.pid).children(recursive=True)]
    pg_pid, redis_pid = run.pg_pid(), run.redis_pid()
    assert _alive(pg_pid) and _alive(redis_pid) and run.child("web") and run.child("worker")

    rest = run.interrupt()

    assert run.proc.returncode == 0, rest
    assert "Stopped." in rest
    assert not (run.tmp / "pgdata" / "postmaster.pid").exists()
    assert not _alive(pg_pid)
    assert not _alive(redis_pid)
    assert [pid for pid in pids if _alive(pid)] == []


def test_a_postgresql_killed_outright_is_started_again_by_a_process_that_had_started_it(run):
    """The run command's own handle on the server (pgserver caches one per process) must not
    take the killed server for running, nor must its zombie or its postmaster.pid."""
    if run.proc.poll() is None:
        run.interrupt()
    pgdata, run_dir = run.tmp / "pgdata", run.tmp / "run"
    embedded.ensure_postgres(pgdata, run_dir)
    old = run.pg_pid()
    os.kill(old, signal.SIGKILL)
    # dead: a zombie (init reaps it about a second later), or gone
    wait_for(lambda: not _alive(old), 10, interval=0.01, message="the killed server to die")

    settings = embedded.ensure_postgres(pgdata, run_dir)

    assert run.pg_pid() != old and embedded.postgres_running(pgdata)
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user="postgres", dbname="postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    embedded.stop_postgres(pgdata)
    assert not embedded.postgres_running(pgdata)
