"""Django's PostgreSQL backend, whose connection pool checks each connection before handing it
out with `helpdesk.lib.dbpool.check_connection`: after the database restarts, no request is
given a connection that died with it.

Django builds the pool itself and passes it a `check` of its own (a round trip for every
connection handed out, or none at all), so the check is set here, once the pool exists and
before it hands out its first connection."""

from __future__ import annotations

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresDatabaseWrapper

from helpdesk.lib import dbpool


class DatabaseWrapper(PostgresDatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool  # type: ignore[misc]  # Django 5.1's pool is missing from django-stubs
        # psycopg_pool keeps the check in `_check` (tests/lib/test_dbpool.py fails if that changes)
        if pool is not None and getattr(pool, "_check", dbpool.check_connection) is not dbpool.check_connection:
            pool._check = dbpool.check_connection
        return pool
