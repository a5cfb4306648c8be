"""Fixed-window rate limits kept in the cache (Redis), shared by every web process.

They fail open: while Redis is unreachable every hit is allowed (and logged), because refusing a
visitor's message would lose it, and an outage of the cache must not stop the helpdesk.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def hit(scope: str, key: str, limit: int, window: int = 60) -> bool:
    """Count one hit; True while the count in the current window is within `limit`."""
    bucket = int(time.time() // window)
    name = f"rl:{scope}:{key}:{bucket}"
    try:
        cache.add(name, 0, timeout=window + 1)
        try:
            count = cache.incr(name)
        except ValueError:  # expired between add and incr
            cache.add(name, 1, timeout=window + 1)
            count = 1
    except Exception:  # the cache is down: allow, and say so
        logger.warning("rate limit %s not counted: the cache is unreachable", scope, exc_info=True)
        return True
    return count <= limit


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"
