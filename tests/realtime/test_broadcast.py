"""broadcast: sends from synchronous code go through an ordered outbox, over the real Redis layer."""

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.conf import settings
from django.test import override_settings

from helpdesk.realtime import broadcast


@pytest.fixture
def redis_layer():
    layer = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": None}],
                "prefix": f"t{uuid.uuid4().hex[:8]}",
            },
        }
    }
    with override_settings(CHANNEL_LAYERS=layer):
        channel_layers.backends = {}
        yield
    channel_layers.backends = {}


async def _received(channel: str, count: int) -> list[str]:
    layer = get_channel_layer()
    return [(await asyncio.wait_for(layer.receive(channel), 5))["html"] for _ in range(count)]


def test_sends_from_the_servers_database_thread_go_out_in_order_on_the_servers_loop(redis_layer):
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("g", channel)

        def sync_view():  # as an action called from a consumer's database thread
            for n in range(20):
                broadcast.send("g", f"push {n}")

        await sync_to_async(sync_view)()
        assert asyncio.get_running_loop() in broadcast._outboxes
        return await _received(channel, 20)

    assert asyncio.run(scenario()) == [f"push {n}" for n in range(20)]


def test_sends_from_a_thread_without_a_loop_go_through_the_outbox_thread(redis_layer):
    """The worker's case: no event loop; the sends are handed over and `flush` waits for them."""
    sender = threading.Thread(target=lambda: [broadcast.send("g2", f"push {n}") for n in range(20)])

    async def listen():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("g2", channel)
        sender.start()
        return await _received(channel, 20)

    assert asyncio.run(listen()) == [f"push {n}" for n in range(20)]
    sender.join()
    assert broadcast.flush(5)
    assert broadcast._own_loop is not None and broadcast._own_loop.is_running()


def test_a_send_that_fails_is_logged_and_the_next_still_goes_out(redis_layer, caplog, monkeypatch):
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("g3", channel)
        real = type(layer).group_send

        async def flaky(self, group, event):
            if event["html"] == "bad":
                raise ConnectionError("redis went away")
            return await real(self, group, event)

        monkeypatch.setattr(type(layer), "group_send", flaky)

        def sync_view():
            broadcast.send("g3", "bad")
            broadcast.send("g3", "good")

        await sync_to_async(sync_view)()
        return await _received(channel, 1)

    assert asyncio.run(scenario()) == ["good"]
    assert "broadcast to g3 failed" in caplog.text


def test_work_after_the_sends_runs_in_the_database_thread_once_they_have_gone_out(redis_layer):
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("g4", channel)
        ran = asyncio.Event()
        loop = asyncio.get_running_loop()
        seen = {}

        def later():
            seen["thread"] = threading.current_thread().name
            seen["queued"] = asyncio.run_coroutine_threadsafe(_pending_in(layer, channel), loop).result(5)
            loop.call_soon_threadsafe(ran.set)

        def sync_view():
            seen["view_thread"] = threading.current_thread().name
            broadcast.send("g4", "the push")
            broadcast.after_sends(later)
            seen["returned_first"] = "thread" not in seen

        await sync_to_async(sync_view)()
        await asyncio.wait_for(ran.wait(), 5)
        return seen, await _received(channel, 1)

    seen, pushed = asyncio.run(scenario())
    assert pushed == ["the push"]
    assert seen["returned_first"]  # the view did not wait for it
    assert seen["thread"] == seen["view_thread"]  # the database thread
    assert seen["queued"] == 1  # the push was in Redis before the work ran


async def _pending_in(layer, channel: str) -> int:
    """How many messages wait for `channel` in Redis (without taking them)."""
    connection = layer.connection(layer.consistent_hash(channel))
    return await connection.zcard(layer.prefix + channel.split("!")[0] + "!") if "!" in channel else -1


def test_work_after_the_sends_runs_at_once_outside_a_server():
    ran = []
    broadcast.after_sends(lambda: ran.append(True))
    assert ran == [True]
