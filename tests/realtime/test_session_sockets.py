"""An inbox socket lives only as long as the sign-in it was opened with. Against a real daphne:
the session cookies are made by signing in over HTTP to it, and every sign-out, password
change, reset and role change goes through its pages, as a browser does."""

from __future__ import annotations

import asyncio
import json
from contextlib import closing

import httpx
import pytest
import websockets
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpdesk.accounts.models import Membership, User
from helpdesk.conversations import actions, identity
from helpdesk.realtime import groups
from helpdesk.realtime.codes import REAUTHORIZE as CLOSE_REAUTHORIZE
from helpdesk.realtime.codes import SIGNED_OUT as CLOSE_SIGNED_OUT
from helpdesk.workspace.models import Workspace
from tests import livehttp
from tests.conftest import make_member
from tests.processes import Stack, stack_env

PASSWORD = "pw-for-tests-1"
NEW_PASSWORD = "a-new-Passw0rd-for-tests"


@pytest.fixture
def web(tmp_path, transactional_db):
    stack = Stack(env=stack_env())
    stack.start_web(tmp_path)
    yield stack
    stack.stop()


@pytest.fixture
def team(transactional_db):
    workspace = Workspace.objects.create(name="Acme", away_message="")
    owner = make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    agent = make_member(workspace, "agent@acme.test")
    visitor, _raw = identity.start_visitor(workspace)
    conversation = actions.post_customer_message(visitor, "Where is my order?").conversation
    actions.post_agent_reply(conversation, owner, "PRIVATE: refund approved, card ending 4242", private=True)
    return workspace, owner, agent, conversation


def _browser(web: Stack, email: str, password: str = PASSWORD) -> httpx.Client:
    return livehttp.signed_in(web.base_url, email, password)


async def _open(web: Stack, browser: httpx.Client):
    return await websockets.connect(
        f"{web.ws_url}/ws/inbox/", origin=web.base_url, additional_headers={"Cookie": livehttp.cookie_header(browser)}
    )


async def _refused(web: Stack, browser: httpx.Client) -> bool:
    try:
        ws = await _open(web, browser)
    except websockets.InvalidStatus as e:
        return e.response.status_code == 403
    await ws.close()
    return False


async def _closed_with(ws, timeout: float = 10) -> int | None:
    """The close code the server sends (pushes before it are skipped); None if it stays open."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else None
    except TimeoutError:
        return None


async def _replay(ws, conversation_id: int) -> str:
    """What a resume of the thread brings (the socket's other pushes are skipped)."""
    await ws.send(json.dumps({"type": "resume", "conversation": conversation_id, "after": 0}))
    while True:
        frame = await asyncio.wait_for(ws.recv(), 10)
        if "data-seq" in frame:
            return frame


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_signing_out_closes_that_browsers_sockets_and_no_other(web, team):
    _workspace, _owner, agent, conversation = team
    with closing(_browser(web, agent.email)) as laptop, closing(_browser(web, agent.email)) as phone:

        async def scenario():
            on_laptop, on_phone = await _open(web, laptop), await _open(web, phone)
            assert "Where is my order?" in await _replay(on_phone, conversation.pk)
            signed_out = await asyncio.to_thread(
                livehttp.post_form, laptop, "/accounts/logout/", {}, form_path="/inbox/"
            )
            assert signed_out.status_code == 302
            laptop_closed = await _closed_with(on_laptop)
            # the phone's session is untouched: its socket still replays
            phone_replay = await _replay(on_phone, conversation.pk)
            await on_phone.close()
            return laptop_closed, phone_replay, await _refused(web, laptop)

        laptop_closed, phone_replay, refused_again = asyncio.run(scenario())
    assert laptop_closed == CLOSE_SIGNED_OUT
    assert "Where is my order?" in phone_replay
    assert refused_again


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_password_change_closes_every_socket_of_the_user_and_only_the_changing_browser_gets_back_in(web, team):
    _workspace, _owner, agent, _conversation = team
    with closing(_browser(web, agent.email)) as laptop, closing(_browser(web, agent.email)) as stolen:

        async def scenario():
            on_laptop, on_stolen = await _open(web, laptop), await _open(web, stolen)
            changed = await asyncio.to_thread(
                livehttp.post_form,
                laptop,
                "/accounts/password/",
                {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            )
            assert changed.status_code == 302 and changed.headers["location"] == "/accounts/password/changed/"
            codes = await _closed_with(on_laptop), await _closed_with(on_stolen)
            back = await _open(web, laptop)  # its session was kept valid by the change
            await back.close()
            return codes, await _refused(web, stolen)

        codes, stolen_refused = asyncio.run(scenario())
    assert codes == (CLOSE_REAUTHORIZE, CLOSE_REAUTHORIZE)
    assert stolen_refused


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_password_reset_closes_every_socket_of_the_user(web, team):
    _workspace, _owner, agent, _conversation = team
    with (
        closing(_browser(web, agent.email)) as stolen,
        closing(httpx.Client(base_url=web.base_url, timeout=10)) as owner_of_mailbox,
    ):
        uid = urlsafe_base64_encode(force_bytes(agent.pk))
        token = default_token_generator.make_token(User.objects.get(pk=agent.pk))  # the link the email would carry

        async def scenario():
            on_stolen = await _open(web, stolen)
            form = await asyncio.to_thread(
                owner_of_mailbox.get, f"/accounts/reset/{uid}/{token}/", follow_redirects=True
            )
            assert form.status_code == 200 and "new_password1" in form.text
            done = await asyncio.to_thread(
                livehttp.post_form,
                owner_of_mailbox,
                str(form.url),
                {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            )
            assert done.status_code == 302
            return await _closed_with(on_stolen), await _refused(web, stolen)

        code, refused = asyncio.run(scenario())
    assert code == CLOSE_REAUTHORIZE
    assert refused


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_role_change_closes_the_members_sockets_and_they_reconnect_with_the_new_role(web, team):
    _workspace, owner, agent, _conversation = team
    membership = agent.memberships.get()
    with closing(_browser(web, agent.email)) as agents_browser, closing(_browser(web, owner.email)) as owners_browser:

        async def scenario():
            on_agent = await _open(web, agents_browser)
            changed = await asyncio.to_thread(
                livehttp.post_form,
                owners_browser,
                f"/settings/team/members/{membership.pk}/role",
                {"role": "admin"},
                form_path="/settings/team/",
            )
            assert changed.status_code == 200, changed.text[:300]
            code = await _closed_with(on_agent)
            back = await _open(web, agents_browser)
            await back.close()
            return code

        code = asyncio.run(scenario())
    assert code == CLOSE_REAUTHORIZE
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_stale_socket_whose_session_is_gone_replays_nothing(web, team):
    """The close a sign-out broadcasts is lost (here: the session row is deleted behind the
    server's back, with no broadcast at all). The socket stays open, but its resume yields
    nothing, and closes it."""
    _workspace, _owner, agent, conversation = team
    with closing(_browser(web, agent.email)) as browser:
        session_key = browser.cookies["sessionid"]

        async def scenario():
            ws = await _open(web, browser)
            await database_sync_to_async(Session.objects.filter(session_key=session_key).delete)()
            await ws.send(json.dumps({"type": "resume", "conversation": conversation.pk, "after": 0}))
            received = []
            try:
                while True:
                    received.append(await asyncio.wait_for(ws.recv(), 5))
            except websockets.ConnectionClosed as e:
                return received, e.rcvd.code if e.rcvd else None
            except TimeoutError:  # still open, and quiet
                await ws.close()
                return received, None

        received, code = asyncio.run(scenario())
    assert not any("refund approved" in frame or "Where is my order?" in frame for frame in received)
    assert code == CLOSE_SIGNED_OUT


# ---------------------------------------------------------------- every path that changes a password


@pytest.fixture
def agent_sockets(agent):
    """A channel in the agent's group, as their inbox sockets are (in-memory layer)."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.agent(agent.pk), channel)

    def received(timeout: float = 1):
        try:
            return async_to_sync(asyncio.wait_for)(layer.receive(channel), timeout)
        except TimeoutError:
            return None

    return received


def test_a_password_set_anywhere_closes_the_users_sockets(agent, agent_sockets, django_capture_on_commit_callbacks):
    user = User.objects.get(pk=agent.pk)  # as `manage.py changepassword` or the admin does it
    with django_capture_on_commit_callbacks(execute=True):
        user.set_password(NEW_PASSWORD)
        user.save()
    assert agent_sockets() == {"type": "close.socket", "code": CLOSE_REAUTHORIZE}


def test_saving_a_user_without_a_new_password_closes_nothing(agent, agent_sockets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        agent.name = "Agnes"
        agent.save()
        agent.save(update_fields=["last_login"])
    assert agent_sockets(timeout=0.3) is None


def test_a_user_made_inactive_is_signed_out_everywhere(agent, agent_sockets, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        agent.is_active = False
        agent.save(update_fields=["is_active"])
    assert agent_sockets() == {"type": "close.socket", "code": CLOSE_SIGNED_OUT}


def test_session_groups_are_named_by_a_hash_never_the_key():
    name = groups.session("abcdefghijklmnopqrstuvwxyz012345")
    assert name.startswith("session.") and "abcdefghijklmnopqrstuvwxyz012345" not in name
    assert (
        name == groups.session("abcdefghijklmnopqrstuvwxyz012345") != groups.session("another-session-key-000000000000")
    )
