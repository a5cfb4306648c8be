"""Websocket consumers through the real ASGI application (origin check, session auth, routing)
with WebsocketCommunicator, on the in-memory channel layer."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from helpdesk.asgi import application
from helpdesk.conversations import actions, identity
from helpdesk.conversations.intake import TYPING_PER_SECOND
from helpdesk.conversations.models import Message
from helpdesk.lib import ratelimit
from helpdesk.realtime import consumers, groups
from tests.waiting import wait_for_async

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def session_cookie(user) -> tuple[bytes, bytes]:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.save()
    return (b"cookie", f"sessionid={store.session_key}".encode())


def widget_socket(workspace, raw_visitor, origin=ORIGIN) -> WebsocketCommunicator:
    path = f"/ws/chat/?token={workspace.public_token}&visitor={raw_visitor}"
    return WebsocketCommunicator(application, path, headers=[origin] if origin else [])


async def inbox_socket(user=None, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if user is not None:
        headers.append(await database_sync_to_async(session_cookie)(user))
    return WebsocketCommunicator(application, "/ws/inbox/", headers=headers)


async def receive_all(comm: WebsocketCommunicator, timeout: float = 0.3) -> str:
    """Everything the socket received until it goes quiet."""
    frames = []
    while not await comm.receive_nothing(timeout=timeout):
        frames.append(await comm.receive_from())
    return "".join(frames)


def run(coro_fn):
    return async_to_sync(coro_fn)()


def test_it_delivers_an_agent_reply_to_the_visitor_and_the_inbox(workspace, agent, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Where is my parcel?").conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        assert (await widget.connect())[0]
        assert (await inbox.connect())[0]
        await database_sync_to_async(actions.post_agent_reply)(conversation, agent, "It ships today")
        to_visitor = await receive_all(widget)
        to_agents = await receive_all(inbox)
        await widget.disconnect()
        await inbox.disconnect()
        return to_visitor, to_agents

    to_visitor, to_agents = run(scenario)
    assert "It ships today" in to_visitor and 'hx-swap-oob="beforeend:#messages"' in to_visitor
    assert "It ships today" in to_agents and f"#thread-{conversation.pk}" in to_agents
    assert f'id="row-{conversation.pk}"' in to_agents


def test_private_notes_never_reach_the_visitor(workspace, agent, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        await widget.connect()
        await inbox.connect()
        await database_sync_to_async(actions.post_agent_reply)(
            conversation, agent, "VIP customer, be nice", private=True
        )
        result = await receive_all(widget), await receive_all(inbox)
        await widget.disconnect()
        await inbox.disconnect()
        return result

    to_visitor, to_agents = run(scenario)
    assert "VIP customer" in to_agents
    assert "VIP customer" not in to_visitor


def test_another_visitor_and_another_workspace_receive_nothing(workspace, other_workspace, agent, outsider, visitor):
    v, _raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation
    _stranger, stranger_raw = identity.start_visitor(workspace)

    async def scenario():
        stranger = widget_socket(workspace, stranger_raw)
        other_inbox = await inbox_socket(outsider)
        assert (await stranger.connect())[0]
        assert (await other_inbox.connect())[0]
        await receive_all(other_inbox)  # presence of its own workspace
        await database_sync_to_async(actions.post_agent_reply)(conversation, agent, "secret reply")
        result = await receive_all(stranger), await receive_all(other_inbox)
        await stranger.disconnect()
        await other_inbox.disconnect()
        return result

    to_stranger, to_other_workspace = run(scenario)
    assert "secret reply" not in to_stranger
    assert "secret reply" not in to_other_workspace


@pytest.mark.parametrize(
    "make_path",
    [
        lambda ws, raw: f"/ws/chat/?token={ws.public_token}&visitor=vt_forged",
        lambda ws, raw: f"/ws/chat/?token=wt_forged&visitor={raw}",
        lambda ws, raw: f"/ws/chat/?token={ws.public_token}",
        lambda ws, raw: "/ws/chat/",
    ],
)
def test_the_widget_socket_refuses_forged_tokens(workspace, visitor, make_path):
    _v, raw = visitor

    async def scenario():
        comm = WebsocketCommunicator(application, make_path(workspace, raw), headers=[ORIGIN])
        connected, code = await comm.connect()
        await comm.disconnect()
        return connected, code

    connected, code = run(scenario)
    assert not connected
    assert code == 4003


def test_a_visitor_token_of_another_workspace_is_refused(workspace, other_workspace, visitor):
    _v, raw = visitor

    async def scenario():
        comm = widget_socket(other_workspace, raw)
        connected, code = await comm.connect()
        await comm.disconnect()
        return connected, code

    assert run(scenario) == (False, 4003)


def test_the_inbox_socket_refuses_anonymous_users_and_users_without_a_workspace(db):
    from helpdesk.accounts.models import User

    loner = User.objects.create_user("loner@nowhere.test", "pw-for-tests-1")

    async def scenario():
        results = []
        for user in (None, loner):
            comm = await inbox_socket(user)
            results.append(await comm.connect())
            await comm.disconnect()
        return results

    assert run(scenario) == [(False, 4003), (False, 4003)]


def test_a_socket_from_another_origin_is_refused(workspace, agent, visitor):
    _v, raw = visitor
    evil = (b"origin", b"https://evil.example")

    async def scenario():
        results = []
        for comm in (widget_socket(workspace, raw, origin=evil), await inbox_socket(agent, origin=evil)):
            connected, _code = await comm.connect()
            results.append(connected)
            await comm.disconnect()
        return results

    assert run(scenario) == [False, False]


def test_resume_replays_what_the_visitor_missed_after_the_cursor(workspace, agent, visitor):
    v, raw = visitor
    first = actions.post_customer_message(v, "first")
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )  # older than the replay grace
    conversation = first.conversation
    actions.post_agent_reply(conversation, agent, "missed reply one")
    actions.post_agent_reply(conversation, agent, "hidden note", private=True)
    actions.post_agent_reply(conversation, agent, "missed reply two")

    async def scenario():
        comm = widget_socket(workspace, raw)
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"type": "resume", "after": first.pk}))
        replay = await receive_all(comm)
        await comm.disconnect()
        return replay

    replay = run(scenario)
    assert f'data-seq="{first.pk}"' not in replay
    assert replay.index("missed reply one") < replay.index("missed reply two")
    assert "hidden note" not in replay


def test_the_inbox_resume_replays_the_open_thread_including_notes(workspace, agent, visitor):
    v, _raw = visitor
    first = actions.post_customer_message(v, "first")
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )  # older than the replay grace
    conversation = first.conversation
    actions.post_agent_reply(conversation, agent, "a private note", private=True)

    async def scenario():
        comm = await inbox_socket(agent)
        await comm.connect()
        await receive_all(comm)
        await comm.send_to(text_data=json.dumps({"type": "resume", "conversation": conversation.pk, "after": first.pk}))
        replay = await receive_all(comm)
        await comm.disconnect()
        return replay

    replay = run(scenario)
    assert "a private note" in replay
    assert f'data-seq="{first.pk}"' not in replay


def test_resume_also_replays_a_recent_message_below_the_cursor(workspace, agent, visitor):
    """Another process's transaction may commit message 10 after message 11 was pushed: a client
    that heard of 11 resumes after 11 and must still get 10."""
    v, raw = visitor
    old = actions.post_customer_message(v, "old question")
    conversation = old.conversation
    late = actions.post_agent_reply(conversation, agent, "committed late")
    heard = actions.post_agent_reply(conversation, agent, "pushed first")
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    async def scenario():
        comm = widget_socket(workspace, raw)
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"type": "resume", "after": heard.pk}))
        replay = await receive_all(comm)
        await comm.disconnect()
        return replay

    replay = run(scenario)
    assert f'data-seq="{late.pk}"' in replay and "committed late" in replay
    assert "old question" not in replay


def test_an_outsider_cannot_replay_or_type_into_another_workspace(workspace, agent, outsider, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "confidential question").conversation

    async def scenario():
        intruder = await inbox_socket(outsider)
        widget = widget_socket(workspace, raw)
        await intruder.connect()
        await widget.connect()
        await receive_all(intruder)
        await intruder.send_to(text_data=json.dumps({"type": "resume", "conversation": conversation.pk, "after": 0}))
        await intruder.send_to(text_data=json.dumps({"type": "typing", "conversation": conversation.pk}))
        result = await receive_all(intruder), await receive_all(widget)
        await intruder.disconnect()
        await widget.disconnect()
        return result

    to_intruder, to_widget = run(scenario)
    assert "confidential question" not in to_intruder
    assert "typing" not in to_widget


def test_typing_indicators_cross_both_ways(workspace, agent, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        await widget.connect()
        await inbox.connect()
        await receive_all(inbox)
        await widget.send_to(text_data=json.dumps({"type": "typing"}))
        at_inbox = await receive_all(inbox)
        await inbox.send_to(text_data=json.dumps({"type": "typing", "conversation": conversation.pk}))
        at_widget = await receive_all(widget)
        await widget.disconnect()
        await inbox.disconnect()
        return at_inbox, at_widget

    at_inbox, at_widget = run(scenario)
    assert f'id="typing-{conversation.pk}"' in at_inbox and "is typing" in at_inbox
    assert 'id="typing"' in at_widget and f"{agent.display_name} is typing" in at_widget


class FakeClock:
    """`time` for the consumers and the rate limits: it moves only when the test says so."""

    def __init__(self):
        self.now = 1_800_000_000.25

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(consumers, "time", fake)
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


TYPING_FLOOD = 10  # typing frames a second: far over the allowance, within a socket's burst of frames


async def typing_before(comm: WebsocketCommunicator, typing: str, marker: str) -> int:
    """How many typing pushes the socket received before the first frame with `marker`."""
    count = 0
    while marker not in (received := await comm.receive_from(timeout=5)):
        count += typing in received
    return count


def test_a_visitors_typing_flood_reaches_the_agents_typing_per_second_times_a_second(workspace, agent, visitor, clock):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        assert (await widget.connect())[0]
        assert (await inbox.connect())[0]
        counts = []
        for second in range(2):
            for _ in range(TYPING_FLOOD):
                await widget.send_to(text_data=json.dumps({"type": "typing"}))
            # Frames are handled in order: the agents get this message after every typing push.
            body = f"After flood {second}"
            await widget.send_to(
                text_data=json.dumps({"type": "message", "body": body, "client_id": CLIENT_ID[:-1] + str(second)})
            )
            counts.append(await typing_before(inbox, f'id="typing-{conversation.pk}"', body))
            clock.advance(1)
        await widget.disconnect()
        await inbox.disconnect()
        return counts

    assert run(scenario) == [TYPING_PER_SECOND, TYPING_PER_SECOND]


def test_typing_after_two_quick_messages_still_reaches_the_agents(workspace, agent, visitor, clock):
    """Someone who sends two short messages within a second sends three typing frames in it (one
    as they start, one as each next message is begun): every one is pushed, none is dropped."""
    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        assert (await widget.connect())[0]
        assert (await inbox.connect())[0]
        for n in range(3):
            await widget.send_to(text_data=json.dumps({"type": "typing"}))
            await widget.send_to(
                text_data=json.dumps({"type": "message", "body": f"Quick {n}", "client_id": CLIENT_ID[:-1] + str(n)})
            )
        count = await typing_before(inbox, f'id="typing-{conversation.pk}"', "Quick 2")
        await widget.disconnect()
        await inbox.disconnect()
        return count

    assert run(scenario) == 3


def test_an_agents_typing_flood_reaches_the_visitor_typing_per_second_times_a_second(workspace, agent, visitor, clock):
    v, raw = visitor
    hi = actions.post_customer_message(v, "Hi")
    conversation = hi.conversation

    async def scenario():
        widget = widget_socket(workspace, raw)
        inbox = await inbox_socket(agent)
        assert (await widget.connect())[0]
        assert (await inbox.connect())[0]
        counts = []
        for second in range(2):
            for _ in range(TYPING_FLOOD):
                await inbox.send_to(text_data=json.dumps({"type": "typing", "conversation": conversation.pk}))
            # Frames are handled in order: once the resume is answered, every typing frame was.
            await inbox.send_to(text_data=json.dumps({"type": "resume", "conversation": conversation.pk, "after": 0}))
            while f'id="m-{hi.pk}"' not in await inbox.receive_from(timeout=5):  # the replay's first message
                pass
            body = f"After flood {second}"
            await database_sync_to_async(actions.post_agent_reply)(conversation, agent, body)
            counts.append(await typing_before(widget, 'id="typing"', body))
            clock.advance(1)
        await widget.disconnect()
        await inbox.disconnect()
        return counts

    assert run(scenario) == [TYPING_PER_SECOND, TYPING_PER_SECOND]


CLIENT_ID = "5f0c2d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f"


def test_a_message_frame_is_saved_once_and_pushed_to_the_visitor_and_the_agents(workspace, agent, visitor):
    v, raw = visitor
    frame = json.dumps(
        {
            "type": "message",
            "body": "  Sent over the socket  ",
            "client_id": CLIENT_ID,
            "page_url": "https://acme.test/p",
        }
    )

    async def scenario():
        widget = widget_socket(workspace, raw)
        await widget.connect()
        inbox = await inbox_socket(agent)
        await inbox.connect()
        await receive_all(inbox)
        await widget.send_to(text_data=frame)
        at_widget = await receive_all(widget)
        await widget.send_to(text_data=frame)  # a resend (the widget retried): saved once
        again = await receive_all(widget)
        at_inbox = await receive_all(inbox)
        await widget.disconnect()
        await inbox.disconnect()
        return at_widget, again, at_inbox

    at_widget, _again, at_inbox = run(scenario)
    message = Message.objects.get(body="Sent over the socket")
    assert message.client_id == CLIENT_ID and message.conversation.contact_id == v.contact_id
    assert f'data-client-id="{CLIENT_ID}"' in at_widget  # the widget's acknowledgement
    assert "Sent over the socket" in at_inbox
    assert Message.objects.filter(client_id=CLIENT_ID).count() == 1


@pytest.mark.parametrize("body", ["   ", "x" * 5001], ids=["blank", "too long"])
def test_a_message_frame_the_api_would_refuse_is_dropped_and_the_socket_stays_open(workspace, visitor, settings, body):
    settings.WIDGET_MESSAGE_MAX_LENGTH = 5000
    _v, raw = visitor

    async def scenario():
        comm = widget_socket(workspace, raw)
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"type": "message", "body": body, "client_id": CLIENT_ID}))
        await comm.send_to(text_data=json.dumps({"type": "ping"}))
        silent = await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()
        return silent

    assert run(scenario) is True
    assert not Message.objects.exists()


def test_message_frames_share_the_visitors_rate_limit(workspace, visitor, settings):
    settings.WIDGET_RATE_LIMIT_PER_VISITOR = 2
    _v, raw = visitor

    async def scenario():
        comm = widget_socket(workspace, raw)
        await comm.connect()
        for n in range(4):
            frame = {"type": "message", "body": f"burst {n}", "client_id": f"5f0c2d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6{n}"}
            await comm.send_to(text_data=json.dumps(frame))
        await receive_all(comm)
        await comm.disconnect()

    run(scenario)
    assert Message.objects.filter(body__startswith="burst").count() == 2


def test_pushes_reach_an_agent_while_the_database_thread_is_busy(workspace, agent):
    """Forwarding a push needs no database: it does not wait behind database work queued in
    the shared database thread (another visitor's message being saved)."""

    async def scenario():
        inbox = await inbox_socket(agent)
        assert (await inbox.connect())[0]
        await receive_all(inbox)
        holding, gate = threading.Event(), threading.Event()

        def hold() -> None:
            holding.set()
            gate.wait(10)

        busy = asyncio.ensure_future(sync_to_async(hold)())  # holds the database thread
        await wait_for_async(holding.is_set, message="the database thread to be held")
        try:
            await get_channel_layer().group_send(groups.agents(workspace.pk), {"type": "push", "html": "<p>pushed</p>"})
            received = await inbox.receive_from(timeout=2)
        finally:
            gate.set()
            await busy
        await inbox.disconnect()
        return received

    assert run(scenario) == "<p>pushed</p>"


def test_a_seen_frame_marks_what_the_visitor_saw_and_only_their_own(workspace, agent, visitor):
    v, raw = visitor
    conversation = actions.post_customer_message(v, "hi").conversation
    reply = actions.post_agent_reply(conversation, agent, "hello")
    other, _other_raw = identity.start_visitor(workspace)
    foreign = actions.post_customer_message(other, "not yours")

    async def scenario():
        comm = widget_socket(workspace, raw)
        await comm.connect()
        await comm.send_to(text_data=json.dumps({"type": "seen", "id": foreign.pk}))
        await comm.send_to(text_data=json.dumps({"type": "seen", "id": reply.pk}))
        await wait_for_async(
            lambda: database_sync_to_async(
                lambda: type(conversation).objects.get(pk=conversation.pk).customer_seen_id
            )()
        )
        await comm.disconnect()

    run(scenario)
    conversation.refresh_from_db()
    foreign.conversation.refresh_from_db()
    assert conversation.customer_seen_id == reply.pk
    assert foreign.conversation.customer_seen_id is None
