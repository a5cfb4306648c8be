"""The widget's limits over its websocket, from the attacker's side, against a real daphne
process behind one (pretended) proxy: each test speaks from addresses of its own, sent as
X-Forwarded-For, so that the limits of one test never touch another's.

Limits count in fixed one-minute windows: a test may straddle two, so the bounds below allow
twice the limit, and the floods send more than that."""

from __future__ import annotations

import asyncio
import itertools
import re

import httpx
import pytest
import websockets

from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Message
from helpdesk.realtime import codes
from tests.conftest import make_member
from tests.realtime.conftest import connect, frame, receive_until_quiet, widget_uri
from tests.realtime.test_consumers import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

PER_IP = 5  # messages (and other writes) an address may send a minute
LIVE_PER_IP = 10  # connects, resumes, typing
STACK_ENV = {
    "NUM_PROXIES": "1",
    "WIDGET_RATE_LIMIT_PER_IP": str(PER_IP),
    "WIDGET_RATE_LIMIT_PER_VISITOR": "50",  # out of the way: these tests are about addresses
    "WIDGET_LIVE_LIMIT_PER_IP": str(LIVE_PER_IP),
    "WIDGET_LIVE_LIMIT_PER_VISITOR": "100",
}
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture
def ip() -> str:
    return next(_addresses)


def client_id(n: int, m: int) -> str:
    return f"00000000-0000-4000-8000-{n:06d}{m:06d}"


def new_visitor(workspace):
    """A visitor with a conversation already (so a resume always replays something)."""
    visitor, raw = identity.start_visitor(workspace)
    actions.post_customer_message(visitor, "earlier question")
    return visitor, raw


async def barrier(ws) -> None:
    """Frames are handled in order: once the answer to a resume arrives, every frame sent
    before it has been handled."""
    await ws.send(frame("resume", after=0))
    while "earlier question" not in await asyncio.wait_for(ws.recv(), 10):
        pass


async def refusal_code(ws) -> int | None:
    """The close code of a socket the server closed at once; None for one that answers a ping.
    (A refused socket's close frame left the server before the ping arrived.)"""
    try:
        await asyncio.wait_for(await ws.ping(), 10)
    except websockets.ConnectionClosed:
        return ws.close_code
    return None


async def closed_within(ws, seconds: float) -> int | None:
    """The close code if the server closes the socket within `seconds`; None if it stays open."""
    try:
        async with asyncio.timeout(seconds):
            await ws.wait_closed()
    except TimeoutError:
        return None
    return ws.close_code


def test_many_visitor_tokens_from_one_address_share_its_message_limit(web, workspace, ip):
    visitors = [new_visitor(workspace) for _ in range(4)]
    sent = 0

    async def scenario():
        nonlocal sent
        sockets = [await connect(web, widget_uri(web, workspace, raw), ip=ip) for _v, raw in visitors]
        for m in range(3):
            for n, ws in enumerate(sockets):
                await ws.send(frame("message", body=f"flood {n}.{m}", client_id=client_id(n, m)))
                sent += 1
        for ws in sockets:
            await barrier(ws)
            await ws.close()

    asyncio.run(scenario())
    saved = Message.objects.filter(body__startswith="flood").count()
    assert sent == 12
    assert PER_IP <= saved <= 2 * PER_IP < sent  # the rest were refused: not saved, never acknowledged

    # Another address is not held back by this one.
    _other, raw = new_visitor(workspace)
    response = httpx.post(
        f"{web.base_url}/chat/api/messages",
        data={"body": "from elsewhere"},
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw, "X-Forwarded-For": next(_addresses)},
    )
    assert response.status_code == 201, response.text


def test_one_visitor_over_a_socket_is_held_to_the_address_limit(web, workspace, ip):
    _visitor, raw = new_visitor(workspace)

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw), ip=ip) as ws:
            for m in range(12):
                await ws.send(frame("message", body=f"flood {m}", client_id=client_id(0, m)))
            await barrier(ws)
            return "".join(await receive_until_quiet(ws))

    received = asyncio.run(scenario())
    saved = set(Message.objects.filter(body__startswith="flood").values_list("client_id", flat=True))
    assert PER_IP <= len(saved) <= 2 * PER_IP < 12
    acknowledged = set(re.findall(r'data-client-id="([0-9a-f-]+)"', received))
    assert acknowledged <= saved  # only saved messages are acknowledged

    # The widget posts an unacknowledged message over HTTP with the same id: refused there too
    # (unless a new minute began meanwhile; then it is saved, once).
    missing = next(client_id(0, m) for m in range(12) if client_id(0, m) not in saved)
    response = httpx.post(
        f"{web.base_url}/chat/api/messages",
        data={"body": "flood again", "client_id": missing},
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw, "X-Forwarded-For": ip},
    )
    assert response.status_code in (429, 201), response.text
    if response.status_code == 429:
        assert response.json()["error"] == "You're sending messages too quickly. Please wait a minute."
        assert not Message.objects.filter(client_id=missing).exists()


def test_a_connect_storm_from_one_address_is_refused_with_a_close_code(web, workspace, ip):
    _visitor, raw = new_visitor(workspace)
    storm = 3 * LIVE_PER_IP

    async def scenario():
        sockets = [await connect(web, widget_uri(web, workspace, raw), ip=ip) for _ in range(storm)]
        outcomes = await asyncio.gather(*(refusal_code(ws) for ws in sockets))
        # Meanwhile a visitor from another address connects as usual.
        async with connect(web, widget_uri(web, workspace, raw), ip=next(_addresses)) as ws:
            await ws.send(frame("resume", after=0))
            other = await asyncio.wait_for(ws.recv(), 10)
        for ws in sockets:
            await ws.close()
        return outcomes, other

    outcomes, other = asyncio.run(scenario())
    refused = [code for code in outcomes if code is not None]
    assert set(refused) == {codes.TOO_MANY}
    assert storm - 2 * LIVE_PER_IP <= len(refused) <= storm - LIVE_PER_IP
    assert "earlier question" in other


def test_resume_frames_count_against_the_address(web, workspace, ip):
    _visitor, raw = new_visitor(workspace)

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw), ip=ip) as ws:
            for _ in range(2 * LIVE_PER_IP + 1):
                await ws.send(frame("resume", after=0))
            return await closed_within(ws, 10)

    assert asyncio.run(scenario()) == codes.TOO_MANY


def typing_pushes(frames: list[str], marker: str) -> list[str]:
    """Typing is counted in one-second windows of the server's clock, which a test here cannot
    stop: these say that a flood is cut down on the real server; how far (TYPING_PER_SECOND
    in each second) tests/realtime/test_consumers.py says with a clock of its own."""
    return [text for text in frames if marker in text]


def test_a_visitors_typing_flood_reaches_the_agents_a_few_times_a_second_at_most(web, workspace, ip):
    visitor, raw = new_visitor(workspace)
    conversation = visitor.contact.conversations.get()
    agent = make_member(workspace, "agent@acme.test")
    cookie = session_cookie(agent)[1].decode()
    flood = 25  # within a socket's burst of frames, far over the typing allowance

    async def scenario():
        async with connect(web, f"{web.ws_url}/ws/inbox/", headers={"Cookie": cookie}) as inbox:
            await receive_until_quiet(inbox, quiet=0.3)  # presence
            async with connect(web, widget_uri(web, workspace, raw), ip=ip) as widget:
                for _ in range(flood):
                    await widget.send(frame("typing"))
                await barrier(widget)
                return await receive_until_quiet(inbox, quiet=1)

    pushes = typing_pushes(asyncio.run(scenario()), f'id="typing-{conversation.pk}"')
    assert pushes, "the first typing frame is shown to the agents"
    assert len(pushes) < flood


def test_an_agents_typing_flood_reaches_the_visitor_a_few_times_a_second_at_most(web, workspace, ip):
    visitor, raw = new_visitor(workspace)
    conversation = visitor.contact.conversations.get()
    agent = make_member(workspace, "agent@acme.test")
    cookie = session_cookie(agent)[1].decode()
    flood = 25

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw), ip=ip) as widget:
            async with connect(web, f"{web.ws_url}/ws/inbox/", headers={"Cookie": cookie}) as inbox:
                await receive_until_quiet(inbox, quiet=0.3)
                for _ in range(flood):
                    await inbox.send(frame("typing", conversation=conversation.pk))
                await inbox.send(frame("resume", conversation=conversation.pk, after=0))
                while "earlier question" not in await asyncio.wait_for(inbox.recv(), 10):
                    pass
                return await receive_until_quiet(widget, quiet=1)

    pushes = typing_pushes(asyncio.run(scenario()), 'id="typing"')
    assert pushes
    assert len(pushes) < flood
