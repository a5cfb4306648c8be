"""The connection pool serves again soon after the database comes back, however long it was
away (psycopg_pool's own backoff doubles without a ceiling)."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool, PoolTimeout

from tests.processes import SocketProxy, postgres_socket


def test_the_pool_serves_again_within_about_a_second_of_the_database_returning():
    proxy = SocketProxy(postgres_socket())
    s = connection.settings_dict
    conninfo = f"host=127.0.0.1 port={proxy.port} dbname=postgres user={s['USER']} password={s['PASSWORD'] or ''}"
    pool = ConnectionPool(conninfo, min_size=1, max_size=2, timeout=2, open=True)
    try:
        pool.wait(timeout=10)
        proxy.cut()
        with pytest.raises(psycopg.OperationalError):  # the pooled connection died with the outage
            with pool.connection() as conn:
                conn.execute("select 1")
        with pytest.raises(PoolTimeout):  # a client during the outage: the pool tries to grow too
            pool.getconn(timeout=0.5)
        # Its replacement, and the attempt to grow, have been trying since. With the library's doubling backoff the
        # attempts would now be ~1, ~3 and ~7 s after the cut (at the earliest 6.3 s, with
        # jitter): a client arriving when the database is back at 4 s would time out at 6 s.
        time.sleep(4)
        proxy.restore()
        with pool.connection(timeout=2) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        pool.close()
        proxy.close()
