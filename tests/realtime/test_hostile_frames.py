"""Hostile frames and hostile input against a real daphne process: what a client receives (the
close code, since autobahn refuses some that Channels' test communicator accepts) and what the
web process logs (one warning, never a traceback)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from helpdesk.conversations import identity
from helpdesk.conversations.models import Contact, Message
from helpdesk.realtime import codes
from tests.conftest import make_member
from tests.realtime.conftest import close_code, connect, frame, receive_until_quiet, widget_uri
from tests.realtime.test_consumers import session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

CLIENT_ID = "0b8f2b51-7c1e-4c1e-9a3e-7c8c8f1b2a10"
TRACEBACKS = ("Exception inside application", "Traceback")


def assert_clean(log: str) -> None:
    for needle in TRACEBACKS:
        assert needle not in log, log


BAD_WIDGET_FRAMES = {
    "binary": b"\x00\x01binary",
    "40 KB": "x" * 40_000,
    "40 KB of JSON": json.dumps({"type": "message", "body": "x" * 40_000, "client_id": CLIENT_ID}),
    # over the consumer's limit, under the server's (WEBSOCKET_MESSAGE_MAX_BYTES, 84096 by default)
    "[ * 80000": "[" * 80_000,
    "nested within the size limit": "[" * 5_000 + "]" * 5_000,
    "nested object within the size limit": '{"type": "resume", "after": ' + "[" * 3_000 + "]" * 3_000 + "}",
    "not json": "not json",
    "a list": json.dumps(["a", "list"]),
    "unknown type": frame("launch_missiles"),
    "a type that is not text": json.dumps({"type": {"nested": 1}}),
    "cursor not a number": frame("resume", after="yesterday"),
    "negative cursor": frame("resume", after=-1),
    "cursor past bigint": frame("resume", after=2**64),
    "body not text": frame("message", body=["not", "text"], client_id=CLIENT_ID),
    "client id not a uuid": frame("message", body="hi", client_id="not-a-uuid"),
    "no client id": frame("message", body="hi"),
    "seen without an id": frame("seen"),
    "seen id not a number": frame("seen", id="latest"),
    "seen id negative": frame("seen", id=-5),
    "seen id past bigint": frame("seen", id=2**64),
}
EXPECTED = {
    "binary": codes.BAD_FRAME,
    "40 KB": codes.TOO_BIG,
    "40 KB of JSON": codes.TOO_BIG,
    "[ * 80000": codes.TOO_BIG,
}


@pytest.mark.parametrize("name", list(BAD_WIDGET_FRAMES))
def test_a_bad_frame_closes_the_widget_socket_with_a_4xxx_code_and_one_warning(web, web_log, workspace, name):
    _visitor, raw = identity.start_visitor(workspace)
    bad = BAD_WIDGET_FRAMES[name]

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw)) as ws:
            await ws.send(bad)
            return await close_code(ws)

    code = asyncio.run(scenario())
    assert code == EXPECTED.get(name, codes.BAD_FRAME)
    log = asyncio.run(web_log.wait_for(f"closed with {code}"))
    assert_clean(log)
    assert log.count(f"closed with {code}") == 1, log
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "bad,code",
    [
        (b"binary", codes.BAD_FRAME),
        ("[" * 80_000, codes.TOO_BIG),
        ("[" * 2_000, codes.BAD_FRAME),
        (frame("typing", conversation="one"), codes.BAD_FRAME),
        (frame("resume", conversation=2**70, after=0), codes.BAD_FRAME),
    ],
    ids=["binary", "[ * 80000", "nested", "conversation not a number", "conversation past bigint"],
)
def test_a_bad_frame_closes_the_inbox_socket_with_a_4xxx_code_and_one_warning(web, web_log, workspace, bad, code):
    agent = make_member(workspace, "agent@acme.test")
    cookie = session_cookie(agent)[1].decode()

    async def scenario():
        async with connect(web, f"{web.ws_url}/ws/inbox/", headers={"Cookie": cookie}) as ws:
            await receive_until_quiet(ws, quiet=0.3)  # presence
            await ws.send(bad)
            return await close_code(ws)

    assert asyncio.run(scenario()) == code
    log = asyncio.run(web_log.wait_for(f"closed with {code}"))
    assert_clean(log)
    assert log.count(f"closed with {code}") == 1, log


def test_a_flood_of_frames_closes_the_socket(web, web_log, workspace):
    _visitor, raw = identity.start_visitor(workspace)

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw)) as ws:
            try:
                for _ in range(500):
                    await ws.send(frame("ping"))
            except websockets.ConnectionClosed:
                pass
            return await close_code(ws)

    assert asyncio.run(scenario()) == codes.TOO_MANY
    log = asyncio.run(web_log.wait_for(f"closed with {codes.TOO_MANY}"))
    assert_clean(log)
    assert log.count("closed with") == 1, log


@pytest.mark.parametrize(
    "query", ["token=%00&visitor=vt_x", "token={token}&visitor=%00", "token={token}&visitor=%FF%FE"]
)
def test_a_connect_with_hostile_tokens_is_refused_without_a_traceback(web, web_log, workspace, query):
    async def scenario():
        uri = f"{web.ws_url}/ws/chat/?" + query.format(token=workspace.public_token)
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with connect(web, uri):
                pass
        return refused.value.response.status_code

    assert asyncio.run(scenario()) == 403
    assert_clean(web_log.text())


# ---------------------------------------------------------------- NUL and nesting, on the wire


def test_a_message_with_nul_characters_is_saved_without_them_over_the_socket(web, web_log, workspace):
    _visitor, raw = identity.start_visitor(workspace)

    async def scenario():
        async with connect(web, widget_uri(web, workspace, raw)) as ws:
            # \ud800: a lone surrogate, which JSON may carry but UTF-8 (and so PostgreSQL) can't
            await ws.send(
                frame(
                    "message", body="Hello\x00 there\x00\ud800", client_id=CLIENT_ID, page_url="https://acme.test/\x00p"
                )
            )
            return "".join(await receive_until_quiet(ws))

    ack = asyncio.run(scenario())
    message = Message.objects.get(client_id=CLIENT_ID)
    assert message.body == "Hello there\ufffd"
    assert f'data-client-id="{CLIENT_ID}"' in ack and "Hello there" in ack
    assert message.conversation.page_url == "https://acme.test/p"
    assert_clean(web_log.text())


def test_a_message_with_nul_characters_is_saved_without_them_over_http(web, web_log, workspace):
    _visitor, raw = identity.start_visitor(workspace)
    headers = {"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw}
    response = httpx.post(
        f"{web.base_url}/chat/api/messages",
        headers=headers,
        data={"body": "\x00Where is\x00 my order?", "client_id": CLIENT_ID, "page_url": "https://acme.test/\x00"},
    )
    assert response.status_code == 201, response.text
    assert Message.objects.get(client_id=CLIENT_ID).body == "Where is my order?"
    again = httpx.post(
        f"{web.base_url}/chat/api/messages", headers=headers, data={"body": "\x00\x00 ", "client_id": ""}
    )
    assert again.status_code == 400 and again.json()["error"] == "Type a message first."
    assert Message.objects.count() == 1
    assert_clean(web_log.text())


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"name": "Ada", "traits": {"a": {"b": {"c": {"d": {"e": 1}}}}}}),
        json.dumps({"name": "Ada", "traits": {"deep": [[[[[[["x"]]]]]]]}}),
        '{"name": "Ada", "traits": {"deep": ' + "[" * 900 + "]" * 900 + "}}",
        "[" * 100_000,
        '{"name": "Ada", "traits": ' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "}",
    ],
    ids=["objects 5 deep", "lists 7 deep", "900 deep", "[ * 100000", "5000 deep"],
)
def test_identify_refuses_traits_nested_too_deep_and_changes_nothing(web, web_log, workspace, body):
    visitor, raw = identity.start_visitor(workspace)
    response = httpx.post(
        f"{web.base_url}/chat/api/identify",
        content=body,
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert "nest" in response.json()["error"]
    contact = Contact.objects.get(pk=visitor.contact_id)
    assert (contact.name, contact.traits) == ("", {})
    assert_clean(web_log.text())


def test_identify_strips_nul_from_names_emails_and_traits(web, web_log, workspace):
    visitor, raw = identity.start_visitor(workspace)
    payload = {
        "name": "A\x00da",
        "email": "ada@example.com\x00",
        "traits": {"pl\x00an": "pro\x00", "seats": [1, "t\x00wo"], "n": {"k\x00": "v\x00"}},
    }
    response = httpx.post(
        f"{web.base_url}/chat/api/identify",
        content=json.dumps(payload),
        headers={"X-Widget-Token": workspace.public_token, "X-Visitor-Token": raw, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    contact = Contact.objects.get(pk=visitor.contact_id)
    assert (contact.name, contact.email) == ("Ada", "ada@example.com")
    assert contact.traits == {"plan": "pro", "seats": [1, "two"], "n": {"k": "v"}}
    assert_clean(web_log.text())
