"""What the benchmark scripts share: percentiles, logging to stderr, the embedded services
(stopped again at the end only when this script started them) and throwaway databases.

Import it before django.setup(): `bench/` is on sys.path when a script runs as
`.venv/bin/python bench/<name>.py`.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

_T0 = time.monotonic()


def log(*parts) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s]", *parts, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0}
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "max_ms": round(max(ms), 2)}


def _paths() -> tuple[Path, Path]:
    run_dir = Path(os.environ.get("HELPDESK_RUN_DIR", str(ROOT / ".run")))
    pgdata = Path(os.environ.get("HELPDESK_PGDATA", str(ROOT / ".pgdata")))
    return run_dir, pgdata


def embedded_services() -> None:
    """Start the embedded PostgreSQL and Redis unless URLs are configured, as the settings
    would; at exit, stop the ones that this process started (never ones already running)."""
    from helpdesk.lib import embedded

    run_dir, pgdata = _paths()
    started = []
    if not os.environ.get("DATABASE_URL") and embedded._postmaster(pgdata) is None:
        embedded.ensure_postgres(pgdata, run_dir)
        started.append(("postgres", lambda: embedded.stop_postgres(pgdata)))
    if not os.environ.get("REDIS_URL") and not embedded._redis_alive(embedded.redis_socket_path(run_dir)):
        embedded.ensure_redis(run_dir)
        started.append(("redis", lambda: embedded.stop_redis(run_dir)))

    def stop() -> None:
        for name, fn in started:
            log(f"stopping the embedded {name} this bench started")
            try:
                fn()
            except Exception as exc:
                log(f"could not stop {name}: {exc}")

    atexit.register(stop)


def throwaway_database() -> str:
    """Create an empty database on the embedded server (or the DATABASE_URL's server), point
    DATABASE_URL at it for this process, and drop it at exit. Returns its name."""
    import psycopg

    from helpdesk.lib import embedded

    run_dir, pgdata = _paths()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    base = os.environ.get("DATABASE_URL")
    if base:
        import dj_database_url

        s = dj_database_url.parse(base)
        conninfo = {
            "host": s["HOST"],
            "port": s["PORT"] or 5432,
            "user": s["USER"],
            "password": s["PASSWORD"],
            "dbname": s["NAME"],
        }
    else:
        s = embedded.ensure_postgres(pgdata, run_dir)
        conninfo = {
            "host": s["HOST"],
            "port": s["PORT"],
            "user": s["USER"],
            "password": s["PASSWORD"],
            "dbname": s["NAME"],
        }
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    host = quote(str(conninfo["host"]), safe="")
    os.environ["DATABASE_URL"] = (
        f"postgresql://{conninfo['user']}:{quote(conninfo['password'] or '', safe='')}@/{name}?host={host}&port={conninfo['port']}"
    )
    os.environ["DB_POOL_SIZE"] = "0"  # one plain connection in this process; easy to close before the drop

    def drop() -> None:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped database {name}")

    atexit.register(drop)
    return name


def private_redis() -> str:
    """A Redis of this bench's own (the embedded binary, on a unix socket in a temporary
    folder), stopped at exit; REDIS_URL points at it. Whatever else uses the shared embedded
    Redis (a test run, `make run`) then neither slows the bench's sockets nor touches their
    channel-layer groups."""
    import shutil
    import subprocess
    import tempfile

    from helpdesk.lib import embedded

    folder = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            embedded.redis_binary(),
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
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not embedded._redis_alive(sock):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the bench's Redis did not start")
        time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    os.environ["REDIS_URL"] = f"unix://{sock}"
    return os.environ["REDIS_URL"]


def socket_bench_setup() -> None:
    """For the socket benches: the embedded services, a private Redis, Django set up and the
    database migrated."""
    import logging

    import django

    embedded_services()
    private_redis()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
