"""Who a browser speaks for. A verified identity never takes another's history: only an
anonymous visitor's conversations follow it into a verified contact; switching between
verified identities, or `Helpdesk("reset")` on logout, relinks the browser and starts clean,
and closes the browser's open sockets so none keeps listening to the previous contact."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.urls import reverse

from helpdesk.asgi import application
from helpdesk.conversations import identity
from helpdesk.conversations.models import Contact, Conversation, Visitor
from helpdesk.realtime import codes
from tests.conftest import widget_headers

IDENTIFY = reverse("widget:identify")
THREAD = reverse("widget:thread")
SEND = reverse("widget:send")
RESET = reverse("widget:reset")


def identify_as(client, workspace, raw, external_id: str, **extra):
    payload = {"external_id": external_id, "user_hash": identity.identity_hash(workspace, external_id), **extra}
    response = client.post(
        IDENTIFY, json.dumps(payload), content_type="application/json", **widget_headers(workspace, raw)
    )
    assert response.status_code == 200, response.content
    return response.json()


def say(client, workspace, raw, body: str) -> None:
    assert client.post(SEND, {"body": body}, **widget_headers(workspace, raw)).status_code == 201


def thread(client, workspace, raw) -> str:
    response = client.get(THREAD, **widget_headers(workspace, raw))
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_verified_identity_on_a_shared_browser_does_not_take_the_firsts_history(client, workspace):
    _v, shared = identity.start_visitor(workspace)
    _v2, alices_phone = identity.start_visitor(workspace)
    identify_as(client, workspace, alices_phone, "alice", name="Alice")
    say(client, workspace, alices_phone, "From Alice's phone: my address is 1 Main St")

    identify_as(client, workspace, shared, "alice", name="Alice")
    say(client, workspace, shared, "Alice on the shared computer")
    answer = identify_as(client, workspace, shared, "bob", name="Bob")

    assert answer == {"ok": True, "verified": True, "changed": True, "email_known": False}
    alice = Contact.objects.get(external_id="alice", verified=True)
    bob = Contact.objects.get(external_id="bob", verified=True)
    # Both of Alice's browsers wrote to her one conversation; it stays hers, and Bob has none.
    assert list(Conversation.objects.filter(contact=alice).values_list("last_message_preview", flat=True)) == [
        "Alice on the shared computer"
    ]
    assert not Conversation.objects.filter(contact=bob).exists()
    page = thread(client, workspace, shared)
    assert "Alice" not in page and "1 Main St" not in page
    # Alice's own devices still see everything of hers.
    assert "1 Main St" in thread(client, workspace, alices_phone)
    assert "Alice on the shared computer" in thread(client, workspace, alices_phone)
    # Bob's first message starts his own conversation.
    say(client, workspace, shared, "Bob here")
    assert list(Conversation.objects.filter(contact=bob).values_list("last_message_preview", flat=True)) == ["Bob here"]
    assert "Bob here" not in thread(client, workspace, alices_phone)


def test_an_anonymous_visitors_conversations_follow_it_into_the_verified_contact(client, workspace):
    _v, raw = identity.start_visitor(workspace)
    say(client, workspace, raw, "Before signing in")
    identify_as(client, workspace, raw, "carol")
    carol = Contact.objects.get(external_id="carol", verified=True)
    assert list(Conversation.objects.filter(contact=carol).values_list("last_message_preview", flat=True)) == [
        "Before signing in"
    ]
    assert "Before signing in" in thread(client, workspace, raw)


def test_identifying_again_as_the_same_person_changes_nothing(client, workspace):
    _v, raw = identity.start_visitor(workspace)
    identify_as(client, workspace, raw, "dave")
    say(client, workspace, raw, "Hi")
    assert identify_as(client, workspace, raw, "dave")["changed"] is False
    assert "Hi" in thread(client, workspace, raw)


def test_reset_revokes_the_browsers_token_and_keeps_the_contacts_history(client, workspace):
    _v, raw = identity.start_visitor(workspace)
    identify_as(client, workspace, raw, "erin")
    say(client, workspace, raw, "Erin's private question")
    response = client.post(RESET, **widget_headers(workspace, raw))
    assert response.status_code == 200 and response.json() == {"ok": True}
    # The old token opens nothing any more, over HTTP or the socket.
    assert client.get(THREAD, **widget_headers(workspace, raw)).status_code == 403
    assert client.post(SEND, {"body": "still me?"}, **widget_headers(workspace, raw)).status_code == 403
    assert client.post(RESET, **widget_headers(workspace, raw)).status_code == 403
    erin = Contact.objects.get(external_id="erin", verified=True)
    assert list(erin.conversations.values_list("last_message_preview", flat=True)) == ["Erin's private question"]
    assert not Visitor.objects.filter(contact=erin).exists()
    # The next person on this browser starts as a new visitor and sees none of it.
    _new, fresh = identity.start_visitor(workspace)
    assert "Erin" not in thread(client, workspace, fresh)


def test_reset_of_an_unknown_or_another_workspaces_visitor_is_refused(client, workspace, other_workspace):
    _v, raw = identity.start_visitor(workspace)
    assert client.post(RESET, **widget_headers(workspace, "vt_forged")).status_code == 403
    assert client.post(RESET, **widget_headers(other_workspace, raw)).status_code == 403
    assert Visitor.objects.filter(workspace=workspace).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["another identity", "reset"])
def test_relinking_a_browser_closes_its_open_sockets(workspace, how):
    _v, raw = identity.start_visitor(workspace)
    visitor = identity.visitor_for_token(workspace, raw)
    identity.identify(visitor, external_id="frank", user_hash=identity.identity_hash(workspace, "frank"))
    visitor = identity.visitor_for_token(workspace, raw)

    async def scenario():
        comm = WebsocketCommunicator(
            application,
            f"/ws/chat/?token={workspace.public_token}&visitor={raw}",
            headers=[(b"origin", b"http://localhost")],
        )
        connected, _ = await comm.connect()
        assert connected
        from channels.db import database_sync_to_async

        if how == "reset":
            await database_sync_to_async(identity.forget_visitor)(visitor)
        else:
            await database_sync_to_async(identity.identify)(
                visitor, external_id="grace", user_hash=identity.identity_hash(workspace, "grace")
            )
        output = await comm.receive_output(timeout=2)
        await comm.wait()
        return output

    assert async_to_sync(scenario)() == {"type": "websocket.close", "code": codes.VISITOR_CHANGED}
