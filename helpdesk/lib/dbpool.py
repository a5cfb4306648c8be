"""How the database connection pool comes back after an outage.

psycopg_pool replaces each lost connection with a background attempt that backs off
exponentially (1 s, 2 s, 4 s, ... until `reconnect_timeout`) and has no ceiling: after a
30 s outage the next attempt may be 30 s away, and every request until then waits for its
pool timeout and answers 503 although the database is back. We keep retrying at a steady
pace instead, so a process is serving again within about a second of the database
returning. An attempt against a database that is down is one refused TCP connection.
"""

from __future__ import annotations

RECONNECT_INTERVAL = 1.0  # seconds between attempts (the library adds ±10% jitter to the first)


def steady_reconnects() -> None:
    """Make the pool's reconnection attempts keep a steady interval instead of doubling."""
    from psycopg_pool.base import AttemptWithBackoff

    AttemptWithBackoff.INITIAL_DELAY = RECONNECT_INTERVAL
    AttemptWithBackoff.DELAY_BACKOFF = 1.0
