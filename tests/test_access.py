"""Every inbox URL from the outsider's side: anonymous, another workspace, no workspace at all.

Each rule is checked twice: the answer (redirect or 404) and that nothing changed behind it.
"""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from helpdesk.accounts.models import Membership, User
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Conversation, Message
from tests.conftest import make_member, widget_headers


@dataclass
class Endpoint:
    name: str
    method: str = "get"
    data: dict | None = None
    per_conversation: bool = True

    def url(self, conversation: Conversation) -> str:
        args = [conversation.pk] if self.per_conversation else []
        return reverse(f"inbox:{self.name}", args=args)

    def call(self, client, conversation: Conversation):
        return getattr(client, self.method)(self.url(conversation), self.data or {})


ENDPOINTS = [
    Endpoint("index", per_conversation=False),
    Endpoint("counts", per_conversation=False),
    Endpoint("conversation"),
    Endpoint("thread"),
    Endpoint("reply", "post", {"body": "Intruder was here"}),
    Endpoint("status", "post", {"status": "resolved"}),
    Endpoint("priority", "post", {"priority": "4"}),
    Endpoint("assign", "post", {"assignee": ""}),
    Endpoint("presence", "post", {"availability": "away"}, per_conversation=False),
    Endpoint("notifications", "post", {}, per_conversation=False),
    Endpoint("dismiss_ai_notice", "post", {}, per_conversation=False),
]
CONVERSATION_ENDPOINTS = [e for e in ENDPOINTS if e.per_conversation]
by_name = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
by_conversation_name = pytest.mark.parametrize("endpoint", CONVERSATION_ENDPOINTS, ids=lambda e: e.name)


@pytest.fixture
def state(conversation, agent):
    """The conversation assigned to the agent; `state()` snapshots everything an intruder could change."""
    actions.assign(conversation, agent, agent)

    def snapshot():
        c = Conversation.objects.get(pk=conversation.pk)
        membership = Membership.objects.get(user=agent)
        return {
            "status": c.status,
            "priority": c.priority,
            "assignee": c.assignee_id,
            "seen": c.agent_last_seen_at,
            "messages": list(Message.objects.filter(conversation=c).values_list("id", flat=True)),
            "availability": membership.availability,
            "last_seen": membership.last_seen_at,
            "notifications": User.objects.get(pk=agent.pk).notifications_enabled,
            "dismissed": User.objects.get(pk=agent.pk).dismissed_notices,
        }

    return snapshot


# ---------------------------------------------------------------- anonymous


@by_name
def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client, conversation, state, endpoint):
    before = state()
    response = endpoint.call(client, conversation)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert state() == before


# ---------------------------------------------------------------- another workspace


@by_conversation_name
def test_a_member_of_another_workspace_gets_404_and_changes_nothing(outsider_client, conversation, state, endpoint):
    before = state()
    response = endpoint.call(outsider_client, conversation)
    assert response.status_code == 404
    assert "Hello, where is my order?" not in response.content.decode()
    assert state() == before


def test_a_member_of_another_workspace_does_not_see_this_workspaces_conversations(outsider_client, conversation):
    response = outsider_client.get(reverse("inbox:index"), {"status": "all"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="row-{conversation.pk}"' not in page
    assert "Hello, where is my order?" not in page


def test_a_member_of_another_workspace_does_not_see_this_workspaces_team(outsider_client, agent, owner):
    page = outsider_client.get(reverse("inbox:index")).content.decode()
    assert f'data-agent="{agent.pk}"' not in page
    assert f'data-agent="{owner.pk}"' not in page


def test_going_away_changes_only_the_callers_own_presence(outsider_client, outsider, state):
    before = state()
    assert outsider_client.post(reverse("inbox:presence"), {"availability": "away"}).status_code == 200
    assert state() == before
    assert outsider.memberships.get().availability == Membership.Availability.AWAY


def test_turning_notifications_off_changes_only_the_callers_own(outsider_client, outsider, state):
    before = state()
    assert outsider_client.post(reverse("inbox:notifications"), {}).status_code == 200
    assert state() == before
    outsider.refresh_from_db()
    assert outsider.notifications_enabled is False


def test_a_member_cannot_assign_to_a_member_of_another_workspace(outsider, agent_client, conversation, state):
    before = state()
    response = agent_client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": outsider.pk})
    assert response.status_code == 400
    assert state() == before


# ---------------------------------------------------------------- no workspace


@pytest.fixture
def loner_client(client, db):
    client.force_login(User.objects.create_user("loner@nowhere.test", "pw-for-tests-1"))
    return client


@by_name
def test_a_user_without_a_workspace_gets_404_and_changes_nothing(loner_client, conversation, state, endpoint):
    before = state()
    response = endpoint.call(loner_client, conversation)
    assert response.status_code == 404
    assert state() == before


@by_name
def test_a_deactivated_member_gets_404_and_changes_nothing(client, workspace, conversation, state, endpoint):
    former = make_member(workspace, "former@acme.test")
    Membership.objects.filter(user=former).update(is_active=False)
    client.force_login(former)
    before = state()
    assert endpoint.call(client, conversation).status_code == 404
    assert state() == before


# ---------------------------------------------------------------- the widget


def test_another_visitor_cannot_read_this_visitors_thread(client, workspace, visitor, conversation):
    _stranger, stranger_raw = identity.start_visitor(workspace)
    response = client.get(reverse("widget:thread"), **widget_headers(workspace, stranger_raw))
    assert response.status_code == 200
    assert "Hello, where is my order?" not in response.content.decode()


def test_another_visitor_cannot_write_into_this_visitors_conversation(client, workspace, visitor, conversation):
    _stranger, stranger_raw = identity.start_visitor(workspace)
    client.post(reverse("widget:send"), {"body": "Intruder"}, **widget_headers(workspace, stranger_raw))
    assert list(conversation.messages.values_list("body", flat=True)) == ["Hello, where is my order?"]


def test_a_visitor_of_another_workspace_cannot_read_this_visitors_thread(
    client, workspace, other_workspace, visitor, conversation
):
    _, raw = visitor
    _stranger, stranger_raw = identity.start_visitor(other_workspace)
    for headers in (widget_headers(other_workspace, raw), widget_headers(workspace, stranger_raw)):
        response = client.get(reverse("widget:thread"), **headers)
        assert response.status_code == 403
        assert "Hello, where is my order?" not in response.content.decode()


def test_an_agent_session_gives_no_access_to_a_visitors_thread(agent_client, workspace, conversation):
    response = agent_client.get(reverse("widget:thread"), **widget_headers(workspace))
    assert response.status_code == 403
    assert "Hello, where is my order?" not in response.content.decode()
