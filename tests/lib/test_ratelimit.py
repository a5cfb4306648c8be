"""Rate limits count in Redis and fail open when it is unreachable: an outage of the cache must
not refuse (and so lose) a visitor's message."""

from __future__ import annotations

import socket
import threading

import redis
from django.conf import settings as project_settings
from django.core.cache import caches

from helpdesk.lib import ratelimit


def test_hits_over_the_limit_are_refused():
    assert [ratelimit.hit("t", "k", 2) for _ in range(3)] == [True, True, False]


def test_an_unreachable_cache_allows_every_hit(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert caches["default"]._cache._servers == ["redis://127.0.0.1:9/0"]  # the override took effect
    assert all(ratelimit.hit("t", "k", 1) for _ in range(3))
    assert "cache is unreachable" in caplog.text


def test_a_cache_that_stops_answering_allows_the_hit_after_the_timeout(settings, caplog):
    """A Redis that accepts connections and then says nothing (hung, or cut off mid-way) is
    given CACHE_SOCKET_TIMEOUT seconds, not forever."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts; nobody ever reads or answers
    options = project_settings.CACHES["default"]["OPTIONS"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
            "OPTIONS": options,
        }
    }
    outcome = []
    caller = threading.Thread(target=lambda: outcome.append(ratelimit.hit("t", "k", 1)), daemon=True)
    caller.start()
    caller.join(project_settings.CACHE_SOCKET_TIMEOUT + 5)
    silent.close()
    assert outcome == [True], "the rate limit still waits for a Redis that does not answer"
    # What let it go: its read of the answer timed out, on a client given CACHE_SOCKET_TIMEOUT.
    client = ratelimit._client(caches["default"])
    assert client.connection_pool.connection_kwargs["socket_timeout"] == project_settings.CACHE_SOCKET_TIMEOUT
    failures = [r.exc_info[1] for r in caplog.records if "cache is unreachable" in r.getMessage()]
    assert failures and all(isinstance(e, redis.exceptions.TimeoutError) for e in failures), failures


def test_behind_proxies_the_address_is_the_one_the_outermost_trusted_proxy_saw(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.2", REMOTE_ADDR="10.0.0.1")
    settings.NUM_PROXIES = 0
    assert ratelimit.client_ip(request) == "10.0.0.1"
    settings.NUM_PROXIES = 1
    assert ratelimit.client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 2
    assert ratelimit.client_ip(request) == "203.0.113.7"  # the client-supplied 6.6.6.6 is never used
    assert ratelimit.client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


def test_a_websockets_address_comes_from_its_scope_as_a_requests_from_its_headers(rf, settings):
    forwarded = "6.6.6.6, 203.0.113.7, 10.0.0.2"
    scope = {"type": "websocket", "client": ["10.0.0.1", 51000], "headers": [(b"x-forwarded-for", forwarded.encode())]}
    request = rf.get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")
    for proxies, expected in ((0, "10.0.0.1"), (1, "10.0.0.2"), (2, "203.0.113.7"), (5, "6.6.6.6")):
        settings.NUM_PROXIES = proxies
        assert ratelimit.client_ip(scope) == ratelimit.client_ip(request) == expected
    settings.NUM_PROXIES = 1
    assert ratelimit.client_ip({"type": "websocket", "client": ["10.0.0.1", 1], "headers": []}) == "10.0.0.1"
    assert ratelimit.client_ip({"type": "websocket", "client": None, "headers": []}) == "unknown"


def test_several_limits_are_counted_in_one_round_trip(monkeypatch):
    backend = caches["default"]
    client = ratelimit._client(backend)
    executed = []
    real_pipeline = client.pipeline

    def counting_pipeline(*args, **kwargs):
        pipe = real_pipeline(*args, **kwargs)
        real_execute = pipe.execute
        pipe.execute = lambda *a, **k: executed.append(1) or real_execute(*a, **k)
        return pipe

    monkeypatch.setattr(client, "pipeline", counting_pipeline)
    outcomes = [ratelimit.over(("visitor", "v1", 2), ("ip", "a1", 3)) for _ in range(4)]
    assert outcomes == [None, None, "visitor", "visitor"]
    assert ratelimit.over(("visitor", "v2", 2), ("ip", "a1", 3)) == "ip"  # the address's 5th
    assert len(executed) == 5
