"""The team page: invitations by email, accepting them, roles, deactivation. Owners and admins
only; every rule tried from the side of the person it keeps out."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from helpdesk.accounts.models import Membership, User
from helpdesk.lib.tokens import hash_token
from helpdesk.realtime import groups
from helpdesk.team.models import Invitation
from helpdesk.team.tasks import send_invitation
from helpdesk.workspace.models import Activity, Workspace
from tests.conftest import make_member
from tests.livehttp import csrf_token
from tests.processes import Stack, stack_env

STRONG = "purple-kettle-harbour-9"


@pytest.fixture
def admin(workspace):
    return make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return signed_in(owner)


@pytest.fixture
def admin_client(admin):
    return signed_in(admin)


@pytest.fixture
def invite(owner_client, enqueued, django_capture_on_commit_callbacks):
    """Invite an address as the owner and play the worker: returns the link's path from the email."""

    def invite(email: str = "new@acme.test", role: str = "agent") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post("/settings/team/invite", {"email": email, "role": role})
        assert response.status_code == 200, response.content.decode()
        return deliver(enqueued)

    return invite


def deliver(enqueued) -> str:
    """Run the queued invitation emails; the link path of the last one."""
    for name, args in enqueued:
        assert name == send_invitation.name
        send_invitation.call(*args)
    enqueued.clear()
    return re.search(r"http://testserver(/invite/[\w-]+/)", mail.outbox[-1].body).group(1)


def counts() -> tuple[int, int, int]:
    return User.objects.count(), Membership.objects.count(), Activity.objects.count()


# ---------------------------------------------------------------- who may open the page


def _urls(workspace, owner, agent):
    invitation = Invitation.objects.create(workspace=workspace, email="pending@acme.test", invited_by=owner)
    member = agent.memberships.get()
    return [
        ("get", "/settings/team/", {}),
        ("post", "/settings/team/invite", {"email": "x@acme.test", "role": "admin"}),
        ("post", f"/settings/team/invitations/{invitation.pk}/resend", {}),
        ("post", f"/settings/team/invitations/{invitation.pk}/revoke", {}),
        ("post", f"/settings/team/members/{member.pk}/role", {"role": "owner"}),
        ("post", f"/settings/team/members/{member.pk}/deactivate", {}),
        ("post", f"/settings/team/members/{member.pk}/reactivate", {}),
    ]


def _state():
    return (
        list(Membership.objects.order_by("pk").values_list("role", "is_active")),
        list(Invitation.objects.order_by("pk").values_list("email", "revoked_at", "expires_at", "sent_at")),
        Activity.objects.count(),
    )


def test_an_agent_gets_403_on_every_team_url_and_changes_nothing(client, workspace, owner, agent, enqueued):
    urls = _urls(workspace, owner, agent)
    client.force_login(agent)
    before = _state()
    for method, url, data in urls:
        assert getattr(client, method)(url, data).status_code == 403, url
    assert _state() == before and enqueued == []


def test_anonymous_visitors_are_sent_to_sign_in(client, workspace, owner, agent):
    urls = _urls(workspace, owner, agent)
    before = _state()
    for method, url, data in urls:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert _state() == before


def test_an_admin_of_another_workspace_gets_404_on_this_workspaces_members_and_invitations(
    outsider_client, workspace, owner, agent
):
    urls = [u for u in _urls(workspace, owner, agent) if "/members/" in u[1] or "/invitations/" in u[1]]
    before = _state()
    for method, url, data in urls:
        assert getattr(outsider_client, method)(url, data).status_code == 404, url
    assert _state() == before


def test_an_admin_of_another_workspace_sees_and_invites_only_into_their_own(
    outsider_client, workspace, other_workspace, agent
):
    page = outsider_client.get("/settings/team/").content.decode()
    assert agent.email not in page
    assert outsider_client.post("/settings/team/invite", {"email": "x@globex.test", "role": "agent"}).status_code == 200
    assert Invitation.objects.get().workspace == other_workspace


def test_posts_without_csrf_are_refused(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/settings/team/invite", {"email": "x@acme.test", "role": "agent"}).status_code == 403
    assert not Invitation.objects.exists()


# ---------------------------------------------------------------- inviting


def test_an_admin_invites_by_email_and_the_worker_emails_a_one_time_link(
    admin_client, workspace, admin, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/settings/team/invite", {"email": "New@Acme.test", "role": "admin"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Invitation sent to new@acme.test" in html and "<html" not in html
    invitation = Invitation.objects.get()
    assert (invitation.workspace, invitation.email, invitation.role, invitation.invited_by) == (
        workspace,
        "new@acme.test",
        "admin",
        admin,
    )
    assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)
    assert enqueued == [(send_invitation.name, (invitation.pk, "http://testserver/"))]
    assert mail.outbox == []  # the email is the worker's job

    link = deliver(enqueued)
    message = mail.outbox[0]
    assert message.to == ["new@acme.test"] and "Acme" in message.subject
    assert "Admin" in message.subject + message.body or "admin" in message.body
    token = link.split("/")[2]
    invitation.refresh_from_db()
    assert invitation.token_hash == hash_token(token) and invitation.sent_at is not None
    assert token not in str(list(Invitation.objects.values())) + str(list(Activity.objects.values()))

    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (
        admin,
        "team.invited",
        {"email": "new@acme.test", "role": "admin"},
    )
    assert "new@acme.test" in admin_client.get("/settings/team/").content.decode()


def test_the_email_is_sent_once_even_if_the_task_runs_again(invite, enqueued):
    invite()
    send_invitation.call(Invitation.objects.get().pk, "http://testserver/")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "data,error",
    [
        ({"email": "not-an-email", "role": "agent"}, "valid email"),
        ({"email": "", "role": "agent"}, "required"),
        ({"email": "a" * 250 + "@acme.test", "role": "agent"}, "at most 254"),
        ({"email": "x@acme.test", "role": "owner"}, "valid choice"),
        ({"email": "x@acme.test", "role": "wizard"}, "valid choice"),
    ],
)
def test_bad_input_gets_an_inline_error_and_invites_nobody(owner_client, data, error, enqueued):
    response = owner_client.post("/settings/team/invite", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert "data-error-for=" in html and error in html and "<html" not in html
    assert not Invitation.objects.exists() and not Activity.objects.exists() and enqueued == []


def test_inviting_a_member_or_a_pending_address_again_is_refused_inline(owner_client, owner, agent, invite):
    invite("new@acme.test")
    Membership.objects.filter(user=agent).update(is_active=False)
    cases = [
        (owner.email, "already a member"),
        ("AGENT@acme.test", "deactivated member"),
        ("New@acme.test", "already has a pending invitation"),
    ]
    for email, error in cases:
        response = owner_client.post("/settings/team/invite", {"email": email, "role": "agent"})
        assert response.status_code == 422
        assert 'data-error-for="email"' in response.content.decode() and error in response.content.decode()
    assert Invitation.objects.count() == 1 and Activity.objects.filter(action="team.invited").count() == 1


def test_an_expired_invitation_can_be_replaced_by_a_new_one(owner_client, invite):
    old_link = invite("new@acme.test")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    new_link = invite("new@acme.test")
    assert Client().get(old_link).status_code == 410
    assert Client().get(new_link).status_code == 200
    assert Invitation.objects.pending().count() == 1


def test_resending_mails_a_new_link_and_the_old_one_stops_working(
    owner_client, owner, invite, enqueued, django_capture_on_commit_callbacks
):
    old_link = invite()
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/settings/team/invitations/{invitation.pk}/resend", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "A new link is on its way" in response.content.decode()
    new_link = deliver(enqueued)
    assert len(mail.outbox) == 2 and new_link != old_link
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200
    invitation.refresh_from_db()
    assert invitation.expires_at - timezone.now() > timedelta(days=6)
    assert Activity.objects.filter(
        action="team.invitation_resent", actor=owner, detail={"email": "new@acme.test"}
    ).exists()


def test_a_revoked_invitation_no_longer_opens(owner_client, owner, invite):
    link = invite()
    invitation = Invitation.objects.get()
    response = owner_client.post(f"/settings/team/invitations/{invitation.pk}/revoke", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="invitation-{invitation.pk}"' not in response.content.decode()
    anonymous = Client()
    assert anonymous.get(link).status_code == 410
    before = counts()
    response = anonymous.post(link, {"name": "New", "password": STRONG, "password_again": STRONG})
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert counts() == before
    assert Activity.objects.filter(action="team.invitation_revoked", actor=owner).count() == 1


# ---------------------------------------------------------------- the link, shown once to the inviter

LINK = re.compile(r"http://testserver(/invite/[\w-]+/)")


def shown_link(response) -> str | None:
    """The invitation link that a team page's answer shows, if any."""
    match = LINK.search(response.content.decode())
    return match.group(1) if match else None


def everywhere_stored() -> str:
    """What the database keeps of invitations, the activity log and the task queue."""
    return str(
        [list(Invitation.objects.values()), list(Activity.objects.values()), list(DBTaskResult.objects.values())]
    )


def test_the_inviter_is_shown_the_emailed_link_once_and_nothing_stored_opens_it(
    owner_client, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/settings/team/invite", {"email": "new@acme.test", "role": "agent"}, HTTP_HX_REQUEST="true"
        )
    link = shown_link(response)
    assert link is not None and "data-invitation-link" in response.content.decode()
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    token = link.split("/")[2]
    assert token not in everywhere_stored()  # the queued email task included

    assert deliver(enqueued) == link  # the email carries the same link
    assert token not in everywhere_stored()
    assert shown_link(owner_client.get("/settings/team/")) is None  # once: no later page shows it
    assert Client().get(link).status_code == 200


def test_resending_shows_the_new_link_once_and_the_shown_old_one_stops_working(
    owner_client, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = shown_link(owner_client.post("/settings/team/invite", {"email": "new@acme.test", "role": "agent"}))
    invitation = Invitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/settings/team/invitations/{invitation.pk}/resend", HTTP_HX_REQUEST="true")
    second = shown_link(response)
    assert second is not None and second != first
    assert deliver(enqueued) == second  # the two queued emails: one email, with the new link
    assert len(mail.outbox) == 1
    assert Client().get(first).status_code == 404 and Client().get(second).status_code == 200


def test_another_workspaces_admin_gets_no_link_and_changes_nothing(
    owner_client, outsider_client, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        link = shown_link(owner_client.post("/settings/team/invite", {"email": "new@acme.test", "role": "agent"}))
    enqueued.clear()
    invitation = Invitation.objects.get()
    before = _state(), Invitation.objects.values_list("token_hash", "token_nonce").get()
    for action in ("resend", "revoke"):
        response = outsider_client.post(f"/settings/team/invitations/{invitation.pk}/{action}", HTTP_HX_REQUEST="true")
        assert response.status_code == 404 and shown_link(response) is None
    assert shown_link(outsider_client.get("/settings/team/")) is None
    assert (_state(), Invitation.objects.values_list("token_hash", "token_nonce").get()) == before
    assert enqueued == [] and Client().get(link).status_code == 200


def test_an_agent_gets_no_link(owner_client, agent, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        link = shown_link(owner_client.post("/settings/team/invite", {"email": "new@acme.test", "role": "agent"}))
    enqueued.clear()
    invitation = Invitation.objects.get()
    before = Invitation.objects.values_list("token_hash", "token_nonce", "sent_at").get()
    client = signed_in(agent)
    for response in (
        client.post(f"/settings/team/invitations/{invitation.pk}/resend", HTTP_HX_REQUEST="true"),
        client.post("/settings/team/invite", {"email": "other@acme.test", "role": "agent"}, HTTP_HX_REQUEST="true"),
    ):
        assert response.status_code == 403 and shown_link(response) is None
    assert Invitation.objects.values_list("token_hash", "token_nonce", "sent_at").get() == before
    assert enqueued == [] and Client().get(link).status_code == 200


@pytest.mark.parametrize("ended", ["revoked", "accepted"])
def test_a_revoked_or_accepted_invitation_gets_no_new_link(owner_client, invite, enqueued, ended):
    link = invite()
    invitation = Invitation.objects.get()
    if ended == "revoked":
        owner_client.post(f"/settings/team/invitations/{invitation.pk}/revoke")
    else:
        Client().post(link, {"name": "New", "password": STRONG, "password_again": STRONG})
    before = Invitation.objects.values_list("token_hash", "token_nonce", "revoked_at", "accepted_at").get()
    response = owner_client.post(f"/settings/team/invitations/{invitation.pk}/resend", HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and shown_link(response) is None
    assert Invitation.objects.values_list("token_hash", "token_nonce", "revoked_at", "accepted_at").get() == before
    assert enqueued == [] and len(mail.outbox) == 1
    assert Client().get(link).status_code == 410


def test_if_the_secret_key_changes_before_the_email_goes_out_the_email_still_works(
    owner_client, enqueued, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shown = shown_link(owner_client.post("/settings/team/invite", {"email": "new@acme.test", "role": "agent"}))
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    emailed = deliver(enqueued)
    assert emailed != shown
    assert Client().get(emailed).status_code == 200 and Client().get(shown).status_code == 404


def test_an_invitation_made_before_links_were_shown_is_still_emailed_a_working_link(owner, workspace):
    invitation = Invitation.objects.create(workspace=workspace, email="new@acme.test", invited_by=owner)
    assert invitation.token_hash is None and invitation.token_nonce == ""
    send_invitation.call(invitation.pk, "http://testserver/")
    link = LINK.search(mail.outbox[0].body).group(1)
    assert Client().get(link).status_code == 200


# ---------------------------------------------------------------- accepting


def test_a_new_person_accepts_and_lands_in_the_inbox(invite, workspace):
    link = invite("new@acme.test", "admin")
    person = Client()
    page = person.get(link)
    assert page.status_code == 200 and "Join Acme" in page.content.decode() and "new@acme.test" in page.content.decode()

    response = person.post(link, {"name": "Nora New", "password": STRONG, "password_again": STRONG})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    user = User.objects.get(email="new@acme.test")
    assert user.name == "Nora New" and user.check_password(STRONG)
    membership = Membership.objects.get(user=user)
    assert (membership.workspace, membership.role, membership.is_active) == (workspace, "admin", True)
    assert person.get("/inbox/").status_code == 200  # signed in
    assert person.get("/settings/team/").status_code == 200  # as an admin

    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert Activity.objects.filter(
        action="team.joined", actor=user, detail={"email": "new@acme.test", "role": "admin"}
    ).exists()

    # The link works once.
    before = counts()
    again = Client().post(link, {"name": "Mallory", "password": STRONG, "password_again": STRONG})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert counts() == before


def test_someone_with_an_account_signs_in_then_joins(invite, workspace):
    existing = User.objects.create_user("old@elsewhere.test", "pw-for-tests-1", name="Olga")
    link = invite("OLD@elsewhere.test")
    person = Client()
    page = person.get(link).content.decode()
    assert "Sign in to accept" in page and f"/accounts/login/?next={link}" in page
    assert person.post(link).status_code == 200 and not Membership.objects.filter(user=existing).exists()

    response = person.post(
        f"/accounts/login/?next={link}", {"username": "old@elsewhere.test", "password": "pw-for-tests-1", "next": link}
    )
    assert response.status_code == 302 and response["Location"] == link
    assert "Join Acme" in person.get(link).content.decode()
    assert not Membership.objects.filter(user=existing).exists()  # nothing on GET

    response = person.post(link)
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert Membership.objects.get(user=existing).workspace == workspace
    assert person.get("/inbox/").status_code == 200
    assert Client().get(link).status_code == 410


def test_a_person_signed_in_as_someone_else_is_asked_to_sign_out_and_nothing_happens(invite, client, agent):
    link = invite("new@acme.test")
    client.force_login(agent)
    before = counts()
    page = client.get(link).content.decode()
    assert "You are signed in as" in page and agent.email in page
    client.post(link, {"name": "X", "password": STRONG, "password_again": STRONG})
    assert counts() == before and Invitation.objects.get().accepted_at is None


def test_an_account_already_working_in_another_workspace_cannot_join_a_second(invite, outsider):
    link = invite(outsider.email)
    person = signed_in(outsider)
    before = counts()
    response = person.post(link)
    assert response.status_code == 409 and "only one" in response.content.decode()
    assert counts() == before and Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize(
    "data,field,error",
    [
        ({"name": "Nora", "password": "123", "password_again": "123"}, "password", "too short"),
        ({"name": "Nora", "password": "password123", "password_again": "password123"}, "password", "too common"),
        ({"name": "Nora", "password": "48213957601", "password_again": "48213957601"}, "password", "entirely numeric"),
        ({"name": "Nora", "password": STRONG, "password_again": STRONG + "x"}, "password_again", "differ"),
        ({"name": "", "password": STRONG, "password_again": STRONG}, "name", "required"),
        ({"name": "N" * 151, "password": STRONG, "password_again": STRONG}, "name", "at most 150"),
    ],
)
def test_bad_input_on_accepting_gets_an_inline_error_and_creates_nothing(invite, data, field, error):
    link = invite()
    before = counts()
    response = Client().post(link, data)
    assert response.status_code == 422
    html = response.content.decode()
    assert error in html
    assert counts() == before and Invitation.objects.get().accepted_at is None
    assert Client().get(link).status_code == 200  # still usable


def test_an_unknown_or_expired_link_gets_a_clear_page_and_creates_nothing(invite):
    link = invite()
    before = counts()
    unknown = Client().get("/invite/not-a-real-token/")
    assert unknown.status_code == 404 and "not valid" in unknown.content.decode()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for response in (
        Client().get(link),
        Client().post(link, {"name": "Late", "password": STRONG, "password_again": STRONG}),
    ):
        assert response.status_code == 410 and "expired" in response.content.decode()
    assert counts() == before


# ---------------------------------------------------------------- roles


def role(client, member: User, value: str):
    pk = member.memberships.get().pk
    return client.post(f"/settings/team/members/{pk}/role", {"role": value}, HTTP_HX_REQUEST="true")


def test_an_owner_changes_a_role_and_it_is_logged(owner_client, owner, agent):
    response = role(owner_client, agent, "admin")
    assert response.status_code == 200 and f"{agent.email} is now admin" in response.content.decode()
    assert agent.memberships.get().role == "admin"
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (
        owner,
        "team.role_changed",
        {"member": agent.email, "role": "admin", "previous": "agent"},
    )
    assert signed_in(agent).get("/settings/team/").status_code == 200  # effective on the next request


def test_an_owner_can_make_another_owner_who_then_can_demote_the_first(owner_client, owner, admin):
    assert role(owner_client, admin, "owner").status_code == 200
    assert role(signed_in(admin), owner, "agent").status_code == 200
    assert owner.memberships.get().role == "agent"


def test_an_admin_manages_agents_and_admins_but_not_owners(admin_client, owner, agent, admin):
    assert role(admin_client, agent, "admin").status_code == 200
    assert agent.memberships.get().role == "admin"
    before = _state()
    for member, value in ((agent, "owner"), (owner, "agent"), (owner, "admin")):
        response = role(admin_client, member, value)
        assert response.status_code == 422 and "Only an owner" in response.content.decode()
    deactivate = admin_client.post(
        f"/settings/team/members/{owner.memberships.get().pk}/deactivate", HTTP_HX_REQUEST="true"
    )
    assert deactivate.status_code == 422 and "Only an owner" in deactivate.content.decode()
    assert _state() == before
    assert 'value="owner"' not in admin_client.get("/settings/team/").content.decode()


def test_nobody_changes_their_own_role_or_deactivates_themselves(owner_client, owner, admin_client, admin):
    before = _state()
    for client, me in ((owner_client, owner), (admin_client, admin)):
        pk = me.memberships.get().pk
        response = role(client, me, "agent")
        assert response.status_code == 422 and "your own role" in response.content.decode()
        response = client.post(f"/settings/team/members/{pk}/deactivate")
        assert response.status_code == 422 and "deactivate yourself" in response.content.decode()
    assert _state() == before


def test_the_last_owner_stays_an_owner(owner, workspace):
    from helpdesk.team import actions

    # Whoever acts, a workspace keeps an active owner: checked inside the action too.
    membership = owner.memberships.get()
    with pytest.raises(actions.NotAllowed):
        actions.set_role(membership, membership, "admin")
    with pytest.raises(actions.NotAllowed):
        actions._check_keeps_an_owner(membership)
    assert Membership.objects.get(pk=membership.pk).role == "owner"


def test_an_unknown_role_is_refused(owner_client, agent):
    assert role(owner_client, agent, "emperor").status_code == 422
    assert agent.memberships.get().role == "agent" and not Activity.objects.exists()


# ---------------------------------------------------------------- deactivation


def test_a_deactivated_member_loses_access_at_once_and_their_sockets_close(
    owner_client, owner, agent, django_capture_on_commit_callbacks
):
    inbox = signed_in(agent)
    assert inbox.get("/inbox/").status_code == 200
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(groups.agent(agent.pk), channel)
    pk = agent.memberships.get().pk

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/settings/team/members/{pk}/deactivate", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Deactivated" in response.content.decode()
    assert inbox.get("/inbox/").status_code == 404
    assert async_to_sync(asyncio.wait_for)(layer.receive(channel), 2) == {"type": "close.socket", "code": 4003}
    assert Activity.objects.filter(action="team.deactivated", actor=owner, detail={"member": agent.email}).count() == 1
    assert f'data-agent="{agent.pk}"' not in owner_client.get("/inbox/").content.decode()  # gone from the team list

    response = owner_client.post(f"/settings/team/members/{pk}/reactivate", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "active again" in response.content.decode()
    assert inbox.get("/inbox/").status_code == 200
    assert Activity.objects.filter(action="team.reactivated", actor=owner, detail={"member": agent.email}).count() == 1


def test_the_page_lists_members_with_role_and_status_and_pending_invitations(owner_client, owner, agent, invite):
    invite("new@acme.test", "admin")
    Membership.objects.filter(user=agent).update(is_active=False)
    html = owner_client.get("/settings/team/").content.decode()
    for text in (owner.email, "(you)", agent.email, "Deactivated", "Reactivate", "new@acme.test", "Resend", "Revoke"):
        assert text in html
    own_row = html.split(f'id="member-{owner.memberships.get().pk}"')[1].split("</tr>")[0]
    assert "Deactivate" not in own_row and "<select" not in own_row


# ---------------------------------------------------------------- accepting at the same time


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_four_people_accepting_one_link_at_the_same_moment_make_one_account(tmp_path, transactional_db):
    """The link was forwarded (or double-clicked): four browsers post the form at once to a
    real web process. One account, one membership; every other browser is told the link was used."""
    workspace = Workspace.objects.create(name="Acme")
    owner = make_member(workspace, "owner@acme.test", Membership.Role.OWNER)
    invitation = Invitation(workspace=workspace, email="new@acme.test", invited_by=owner)
    token = invitation.new_link()
    invitation.save()
    stack = Stack(env=stack_env())
    stack.start_web(tmp_path)
    try:
        link = f"/invite/{token}/"
        browsers = [httpx.Client(base_url=stack.base_url, timeout=30) for _ in range(4)]
        forms = [csrf_token(browser, link) for browser in browsers]
        start = threading.Barrier(len(browsers))

        def accept(i: int) -> httpx.Response:
            data = {
                "csrfmiddlewaretoken": forms[i],
                "name": f"Person {i}",
                "password": STRONG,
                "password_again": STRONG,
            }
            start.wait()
            return browsers[i].post(link, data=data)

        with ThreadPoolExecutor(len(browsers)) as pool:
            answers = list(pool.map(accept, range(len(browsers))))
        for browser in browsers:
            browser.close()
    finally:
        stack.stop()

    accepted = [a for a in answers if a.status_code == 302]
    refused = [a for a in answers if a.status_code != 302]
    assert len(accepted) == 1 and accepted[0].headers["location"] == "/inbox/", [a.status_code for a in answers]
    assert all(400 <= a.status_code < 500 and "already been used" in a.text for a in refused), [
        (a.status_code, a.text[:200]) for a in refused
    ]
    user = User.objects.get(email="new@acme.test")
    assert Membership.objects.filter(user=user).count() == 1
    assert Invitation.objects.get().accepted_by == user


def test_an_account_made_for_the_address_in_the_meantime_gets_a_clear_answer_not_a_500(invite, monkeypatch):
    """Another workspace's invitation to the same address was accepted a moment before: the
    account is created between this accept's check and its insert."""
    link = invite("new@acme.test")
    real_create_user = User.objects.create_user

    def beaten_to_it(email, password=None, **extra):
        real_create_user(email, "pw-for-tests-1")
        return real_create_user(email, password, **extra)

    monkeypatch.setattr(User.objects, "create_user", beaten_to_it)
    response = Client().post(link, {"name": "Nora", "password": STRONG, "password_again": STRONG})
    assert response.status_code == 409 and "already exists" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None
