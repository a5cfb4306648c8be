"""The connection pool serves again soon after the database comes back, however long it was
away (psycopg_pool's own backoff doubles without a ceiling), and never hands out a connection
that died while idle."""

from __future__ import annotations

import os
import resource

import psycopg
import psycopg_pool.pool
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool, PoolTimeout

from helpdesk.lib import dbpool
from tests.processes import SocketProxy, postgres_socket
from tests.waiting import wait_for


def _conninfo(proxy: SocketProxy) -> str:
    s = connection.settings_dict
    return f"host=127.0.0.1 port={proxy.port} dbname=postgres user={s['USER']} password={s['PASSWORD'] or ''}"


def test_the_pool_serves_again_within_about_a_second_of_the_database_returning():
    proxy = SocketProxy(postgres_socket())
    pool = ConnectionPool(_conninfo(proxy), min_size=1, max_size=2, timeout=2, open=True)
    retries: list[float] = []  # the pool's own schedule: after each failed attempt, the delay to the next
    schedule = pool.schedule_task

    def recording(task, delay):
        if isinstance(task, psycopg_pool.pool.AddConnection):
            retries.append(delay)
        schedule(task, delay)

    pool.schedule_task = recording
    try:
        pool.wait(timeout=10)
        proxy.cut()
        with pytest.raises(psycopg.OperationalError):  # the pooled connection died with the outage
            with pool.connection() as conn:
                conn.execute("select 1")
        with pytest.raises(PoolTimeout):  # a client during the outage: the pool tries to grow too
            pool.getconn(timeout=0.5)
        # Its replacement, and the attempt to grow, have been trying since: two attempts each.
        # With the library's doubling backoff the second delays would be ~2 s (then 4, 8, ...:
        # after a long outage the next attempt could be minutes away); here every one is about
        # a second (±10% jitter), however long the outage lasts.
        wait_for(lambda: len(retries) >= 4, 10, message=lambda: f"four failed attempts; scheduled: {retries}")
        assert max(retries) <= dbpool.RECONNECT_INTERVAL * 1.1, retries
        proxy.restore()
        with pool.connection(timeout=2) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        pool.close()
        proxy.close()


def test_connections_that_died_while_idle_are_never_handed_out(monkeypatch):
    """The database restarted (here: every connection through the proxy is cut) while three
    connections sat idle in the pool: the next clients get working connections, at once."""
    # A client whose connection fails its check pauses before taking the next one, a second and
    # more from the second failure on (the library's backoff): record those pauses.
    pauses: list[float] = []
    real_sleep = psycopg_pool.pool.sleep

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(psycopg_pool.pool, "sleep", sleep)
    proxy = SocketProxy(postgres_socket())
    pool = ConnectionPool(_conninfo(proxy), min_size=3, max_size=3, timeout=5, check=dbpool.check_connection, open=True)
    try:
        pool.wait(timeout=10)
        proxy.cut()
        proxy.restore()
        conns = [pool.getconn() for _ in range(3)]
        assert [c.execute("select 1").fetchone() for c in conns] == [(1,)] * 3
        # One dead connection found, and the others replaced with it: no pause for each of them.
        assert [p for p in pauses if p > 0] == [], pauses
        for c in conns:
            pool.putconn(c)
    finally:
        pool.close()
        proxy.close()


def test_the_check_looks_at_connections_past_descriptor_1024():
    """A web process with hundreds of websockets open holds descriptors past 1024, where
    select() cannot look: the check must still hand out the pool's connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    fillers: list[int] = []
    proxy = SocketProxy(postgres_socket())
    pool = None
    try:
        fillers += [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
        pool = ConnectionPool(
            _conninfo(proxy), min_size=1, max_size=1, timeout=3, check=dbpool.check_connection, open=True
        )
        pool.wait(timeout=10)
        with pool.connection() as conn:
            assert conn.fileno() > 1024
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        if pool is not None:
            pool.close()
        proxy.close()
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_projects_pool_uses_that_check():
    assert connection.pool._check is dbpool.check_connection
