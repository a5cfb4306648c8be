"""Fixed-window rate limits kept in the cache (Redis), shared by every web process.

They fail open: while Redis is unreachable every hit is allowed (and logged), because refusing a
visitor's message would lose it, and an outage of the cache must not stop the helpdesk.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def hit(scope: str, key: str, limit: int, window: int = 60) -> bool:
    """Count one hit; True while the count in the current window is within `limit`."""
    return over((scope, key, limit), window=window) is None


def over(*counters: tuple[str, str, int], window: int = 60) -> str | None:
    """Count one hit on each (scope, key, limit), all in one round trip to Redis; the scope of
    the first one over its limit in the current window, or None while every one is within."""
    bucket = int(time.time() // window)
    names = [f"rl:{scope}:{key}:{bucket}" for scope, key, _limit in counters]
    try:
        counts = _count(names, window + 1)
    except Exception:  # the cache is down: allow, and say so
        logger.warning("rate limit %s not counted: the cache is unreachable", counters[0][0], exc_info=True)
        return None
    for (scope, _key, limit), count in zip(counters, counts):
        if count > limit:
            return scope
    return None


def hit_within(scope: str, key: str, limit: int, window: int) -> bool:
    """Count one hit; True while there have been at most `limit` since the key's first hit, in a
    window of `window` seconds that starts at that first hit (not at a clock boundary, where a
    fixed window would let twice the limit through)."""
    try:
        count = _count([f"rl-win:{scope}:{key}"], window)[0]
    except Exception:  # the cache is down: allow, and say so
        logger.warning("rate limit %s not counted: the cache is unreachable", scope, exc_info=True)
        return True
    return count <= limit


def _count(names: list[str], timeout: int) -> list[int]:
    """Add one to each counter in `names` (created with `timeout`) and return them. On Redis,
    in one round trip: every widget message passes here."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _client(backend).pipeline(transaction=False)
        for name in names:
            key = backend.make_and_validate_key(name)
            pipe.set(key, 0, ex=timeout, nx=True)
            pipe.incr(key)
        return [int(n) for n in pipe.execute()[1::2]]
    return [_count_one(name, timeout) for name in names]


def _count_one(name: str, timeout: int) -> int:
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
    # _servers and _cache are Django's own, private to RedisCache and so absent from its stubs
    servers = tuple(backend._servers)  # type: ignore[attr-defined]
    client = _clients.get(servers)
    if client is None:
        client = _clients.setdefault(servers, backend._cache.get_client(write=True))  # type: ignore[attr-defined]
    return client


def client_ip(source) -> str:
    """The visitor's address, for a request or for an ASGI scope (a websocket's). Behind
    NUM_PROXIES reverse proxies (each appending the address it saw to X-Forwarded-For) it is
    the entry the outermost trusted proxy added; a client can prepend anything it likes, so
    entries further left are never trusted."""
    if isinstance(source, dict):
        client = source.get("client") or ("",)
        remote = client[0] or ""
        forwarded = ",".join(
            v.decode("latin-1") for k, v in source.get("headers", []) if k.lower() == b"x-forwarded-for"
        )
    else:
        remote = source.META.get("REMOTE_ADDR", "")
        forwarded = source.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = settings.NUM_PROXIES
    if proxies:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote or "unknown"


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
