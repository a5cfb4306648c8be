"""Fixed-window rate limits kept in the cache (Redis), shared by every web process.

They fail open: while Redis is unreachable every hit is allowed (and logged), because refusing a
visitor's message would lose it, and an outage of the cache must not stop the helpdesk.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def hit(scope: str, key: str, limit: int, window: int = 60) -> bool:
    """Count one hit; True while the count in the current window is within `limit`."""
    bucket = int(time.time() // window)
    name = f"rl:{scope}:{key}:{bucket}"
    try:
        count = _count(name, window + 1)
    except Exception:  # the cache is down: allow, and say so
        logger.warning("rate limit %s not counted: the cache is unreachable", scope, exc_info=True)
        return True
    return count <= limit


def hit_within(scope: str, key: str, limit: int, window: int) -> bool:
    """Count one hit; True while there have been at most `limit` since the key's first hit, in a
    window of `window` seconds that starts at that first hit (not at a clock boundary, where a
    fixed window would let twice the limit through)."""
    try:
        count = _count(f"rl-win:{scope}:{key}", window)
    except Exception:  # the cache is down: allow, and say so
        logger.warning("rate limit %s not counted: the cache is unreachable", scope, exc_info=True)
        return True
    return count <= limit


def _count(name: str, timeout: int) -> int:
    """Add one to the counter `name` (created with `timeout`) and return it. On Redis, in one
    round trip: every widget message passes here."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(name)
        pipe = _client(backend).pipeline(transaction=False)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return int(pipe.execute()[1])
    cache.add(name, 0, timeout=timeout)
    try:
        return cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=timeout)
        return 1


_clients: dict[tuple[str, ...], object] = {}


def _client(backend: RedisCache):
    """One Redis client, and so one connection pool, per process. Django keeps a cache backend
    per async context, each with a pool of its own: through `cache`, every websocket consumer
    and every request of the ASGI server would open a new connection to Redis."""
    servers = tuple(backend._servers)
    client = _clients.get(servers)
    if client is None:
        client = _clients.setdefault(servers, backend._cache.get_client(write=True))
    return client


def client_ip(request) -> str:
    """The visitor's address. Behind NUM_PROXIES reverse proxies (each appending the address it
    saw to X-Forwarded-For) it is the entry the outermost trusted proxy added; a client can
    prepend anything it likes, so entries further left are never trusted."""
    from django.conf import settings

    proxies = getattr(settings, "NUM_PROXIES", 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# ---------------------------------------------------------------- failures (sign-in)
# A counter that starts at the first failure and expires `window` seconds later: N failures
# within the window lock the key until it expires. Like `hit`, they allow while the cache is
# down (the password is still checked).


def _failure_key(scope: str, key: str) -> str:
    return f"rl-fail:{scope}:{key}"


def failures(scope: str, key: str) -> int:
    try:
        return int(cache.get(_failure_key(scope, key)) or 0)
    except Exception:
        logger.warning("failure count %s not read: the cache is unreachable", scope, exc_info=True)
        return 0


def record_failure(scope: str, key: str, window: int) -> None:
    name = _failure_key(scope, key)
    try:
        if not cache.add(name, 1, timeout=window):
            cache.incr(name)
    except ValueError:
        cache.add(name, 1, timeout=window)
    except Exception:
        logger.warning("failure %s not counted: the cache is unreachable", scope, exc_info=True)


def clear_failures(scope: str, key: str) -> None:
    try:
        cache.delete(_failure_key(scope, key))
    except Exception:
        logger.warning("failures %s not cleared: the cache is unreachable", scope, exc_info=True)
