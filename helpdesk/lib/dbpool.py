"""How the database connection pool comes back after an outage: it reconnects at a steady
pace, and it never hands out a connection that died while it sat idle in the pool.

psycopg_pool replaces each lost connection with a background attempt that backs off
exponentially (1 s, 2 s, 4 s, ... until `reconnect_timeout`) and has no ceiling: after a
30 s outage the next attempt may be 30 s away, and every request until then waits for its
pool timeout and answers 503 although the database is back. We keep retrying at a steady
pace instead, so a process is serving again within about a second of the database
returning. An attempt against a database that is down is one refused TCP connection.
"""

from __future__ import annotations

import logging
import select

from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

RECONNECT_INTERVAL = 1.0  # seconds between attempts (the library adds ±10% jitter to the first)


def steady_reconnects() -> None:
    """Make the pool's reconnection attempts keep a steady interval instead of doubling."""
    try:
        from psycopg_pool.base import AttemptWithBackoff
    except ImportError:  # another psycopg_pool than the one pinned: keep its own backoff
        logger.warning("psycopg_pool has no AttemptWithBackoff: reconnects keep the library's backoff")
        return
    AttemptWithBackoff.INITIAL_DELAY = RECONNECT_INTERVAL
    AttemptWithBackoff.DELAY_BACKOFF = 1.0


def check_connection(conn) -> None:
    """The pool's check before it hands out `conn` (see helpdesk/lib/postgres/base.py).

    A pooled connection that the server has closed (a restart, a failover, an idle timeout)
    has its end, or the server's last words, waiting to be read; a live idle one has nothing
    to read. So a look at the socket, without a round trip, is enough for every connection
    but a suspect one, which then gets a real check. If it is dead, the others that sat idle
    beside it most likely are too: they are all checked now and replaced (the pool would
    otherwise fail one request for each, or wait a second between them)."""
    if not conn.closed:
        idle = select.poll()  # not select(): a web process holding many sockets has descriptors past 1024
        idle.register(conn.fileno(), select.POLLIN)
        if not idle.poll(0):
            return
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        pool = getattr(conn, "_pool", None)
        if pool is not None:
            pool.check()
        raise
