"""Real-time across processes: the worker process sends, the web process forwards, a websocket
client receives. Over the embedded Redis exactly as `make run` starts it, and over the Redis
given by a URL (CI's 127.0.0.1:6379). Both run under CI; neither is skipped there."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import pytest
import websockets

from helpdesk.conversations import actions, identity
from helpdesk.workspace.models import Workspace
from tests.conftest import in_ci
from tests.processes import Stack, redis_reachable, stack_env

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

URL_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis(kind: str) -> str | None:
    if kind == "embedded":
        from django.conf import settings

        from helpdesk.lib import embedded

        return embedded.ensure_redis(settings.RUN_DIR)
    if not redis_reachable(URL_REDIS):
        if in_ci():
            pytest.fail(f"Redis at {URL_REDIS} is not reachable under CI")
        pytest.skip(f"no Redis at {URL_REDIS} on this machine")
    return URL_REDIS


@pytest.fixture(params=["embedded", "url"])
def stack(request, tmp_path, transactional_db):
    env = stack_env(_redis(request.param))
    s = Stack(env=env)
    s.start_web(tmp_path)
    s.start_worker(tmp_path)
    yield s
    s.stop()


async def _visitor_conversation(stack: Stack, token: str):
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        r = await http.post("/chat/api/visitor", headers={"X-Widget-Token": token})
        assert r.status_code == 201, r.text
        raw = r.json()["visitor"]
        uri = f"{stack.ws_url}/ws/chat/?token={token}&visitor={raw}"
        async with websockets.connect(uri, origin=stack.base_url) as ws:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            r = await http.post(
                "/chat/api/messages",
                headers={"X-Widget-Token": token, "X-Visitor-Token": raw},
                data={"body": "Is anybody there?", "client_id": "0b8f2b51-7c1e-4c1e-9a3e-7c8c8f1b2a10"},
            )
            assert r.status_code == 201, r.text
            received = ""
            try:
                async with asyncio.timeout(15):
                    while "passing your question to our team" not in received:
                        received += await ws.recv()
            except TimeoutError:
                pass  # the assertions on what was received say what is missing
            return received


def test_the_worker_process_reaches_a_visitor_websocket_on_the_web_process(stack):
    workspace = Workspace.objects.create(name="Acme")
    received = asyncio.run(_visitor_conversation(stack, workspace.public_token))
    assert "Is anybody there?" in received, stack.output()
    # The AI's answer task runs in the worker process: with no knowledge to answer from, it
    # hands over (telling the visitor nobody is online), and the web process pushes that to
    # the visitor through Redis.
    assert "passing your question to our team" in received, stack.output()
    # The handover's message itself says that nobody is there (the widget's availability line,
    # replayed on resume, says so too).
    handover = received[received.index("passing your question to our team") :]
    assert "away right now" in handover.split("</div>")[0], stack.output()
    conversation = workspace.conversations.get()
    public = conversation.messages.filter(private=False).values_list("author_kind", flat=True)
    assert list(public) == ["customer", "system"]


def test_an_agent_reply_written_by_another_process_reaches_the_visitor(stack, tmp_path):
    workspace = Workspace.objects.create(name="Acme", away_message="")
    from tests.conftest import make_member

    agent = make_member(workspace, "agent@acme.test")
    visitor, raw = identity.start_visitor(workspace)
    conversation = actions.post_customer_message(visitor, "Hello?").conversation

    async def scenario():
        uri = f"{stack.ws_url}/ws/chat/?token={workspace.public_token}&visitor={raw}"
        async with websockets.connect(uri, origin=stack.base_url) as ws:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            first = await asyncio.wait_for(ws.recv(), 5)  # the replayed customer message
            # This test process is a third process: it writes through the actions module,
            # whose broadcast goes through the same Redis layer as the web process.
            from channels.db import database_sync_to_async
            from channels.layers import channel_layers
            from django.test import override_settings

            with override_settings(
                CHANNEL_LAYERS={
                    "default": {
                        "BACKEND": "channels_redis.core.RedisChannelLayer",
                        "CONFIG": {
                            "hosts": [{"address": stack.env["REDIS_URL"], "socket_timeout": None}],
                            "prefix": stack.env["CHANNEL_PREFIX"],
                        },
                    }
                }
            ):
                channel_layers.backends = {}
                await database_sync_to_async(actions.post_agent_reply)(conversation, agent, "On its way!")
            channel_layers.backends = {}
            reply = await asyncio.wait_for(ws.recv(), 5)
            return first, reply

    first, reply = asyncio.run(scenario())
    assert "Hello?" in first
    assert "On its way!" in reply


def test_a_visitor_whose_socket_is_cut_again_and_again_misses_no_reply(stack):
    """40 replies written by another process while the visitor's socket is cut again and again,
    one at each moment of its life: while it is cut, once it is open, as it resumes, and as it
    closes. Reconnecting with the cursor (as the widget does) brings every one."""
    import re

    from channels.db import database_sync_to_async
    from channels.layers import channel_layers
    from django.test import override_settings

    from tests.conftest import make_member

    workspace = Workspace.objects.create(name="Acme", away_message="")
    agent = make_member(workspace, "agent@acme.test")
    visitor, raw = identity.start_visitor(workspace)
    conversation = actions.post_customer_message(visitor, "Tell me everything").conversation
    sent: list[int] = []
    redis_layer = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": stack.env["REDIS_URL"], "socket_timeout": None}],
                "prefix": stack.env["CHANNEL_PREFIX"],
            },
        }
    }

    @database_sync_to_async
    def write() -> None:
        sent.append(actions.post_agent_reply(conversation, agent, f"Reply number {len(sent)}").pk)

    async def receive() -> tuple[set[int], int]:
        seen: set[int] = set()
        cursor, cuts = 0, 0
        uri = f"{stack.ws_url}/ws/chat/?token={workspace.public_token}&visitor={raw}"

        async def everything_so_far(ws) -> None:
            """Until every reply written so far has arrived, pushed or replayed."""
            nonlocal cursor
            try:
                async with asyncio.timeout(10):
                    while not set(sent) <= seen:
                        for seq in map(int, re.findall(r'data-seq="(\d+)" data-kind="agent"', await ws.recv())):
                            seen.add(seq)
                            cursor = max(cursor, seq)
            except TimeoutError:
                pytest.fail(f"lost {sorted(set(sent) - seen)} after {cuts} cuts\n{stack.output()}")

        for _ in range(10):
            await write()  # while the socket is cut
            async with websockets.connect(uri, origin=stack.base_url) as ws:
                await write()  # open, before the resume
                await ws.send(json.dumps({"type": "resume", "after": cursor}))
                await write()  # while the replay is under way
                await everything_so_far(ws)
                await write()  # pushed as the socket closes, unread: the next resume brings it
            cuts += 1
        async with websockets.connect(uri, origin=stack.base_url) as ws:
            await ws.send(json.dumps({"type": "resume", "after": cursor}))
            await everything_so_far(ws)
        return seen, cuts

    with override_settings(CHANNEL_LAYERS=redis_layer):
        channel_layers.backends = {}
        seen, cuts = asyncio.run(receive())
    channel_layers.backends = {}
    assert len(sent) == 40 and cuts >= 5
    assert set(sent) - seen == set(), f"lost {sorted(set(sent) - seen)} over {cuts} cuts"
    assert seen == set(sent)
