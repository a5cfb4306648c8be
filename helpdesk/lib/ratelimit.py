"""Fixed-window rate limits kept in the cache (Redis), shared by every web process."""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(scope: str, key: str, limit: int, window: int = 60) -> bool:
    """Count one hit; True while the count in the current window is within `limit`."""
    bucket = int(time.time() // window)
    name = f"rl:{scope}:{key}:{bucket}"
    cache.add(name, 0, timeout=window + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window + 1)
        count = 1
    return count <= limit


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
