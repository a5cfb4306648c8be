"""The agent inbox: the conversation list, the conversation pane, and the writes behind its controls."""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions
from helpdesk.conversations.models import Contact, Conversation, Message
from helpdesk.inbox import queries
from tests.conftest import make_member, widget_headers

INDEX = reverse("inbox:index")
HTMX = {"HTTP_HX_REQUEST": "true"}


def make_conversation(workspace, *, name="", email="", body="Hello", minutes_ago=0, **fields) -> Conversation:
    contact = Contact.objects.create(workspace=workspace, name=name, email=email)
    conversation = Conversation.objects.create(
        workspace=workspace,
        contact=contact,
        last_message_at=timezone.now() - timedelta(minutes=minutes_ago),
        last_message_preview=body,
        **fields,
    )
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.CUSTOMER, body=body
    )
    return conversation


def listed(response) -> list[int]:
    """The conversations of the list, in order."""
    return [int(pk) for pk in re.findall(r'id="row-(\d+)"', response.content.decode())]


def next_cursor(response) -> str:
    """The `before` cursor of the "Load more" button, or "" on the last page."""
    match = re.search(r"before=([^\"&]+)\"", response.content.decode())
    return unquote(match.group(1)) if match else ""


def url(name, conversation) -> str:
    return reverse(f"inbox:{name}", args=[conversation.pk])


def refreshed(conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


# ---------------------------------------------------------------- the list


def test_the_inbox_lists_active_conversations_and_hides_resolved_ones(agent_client, workspace):
    new = make_conversation(workspace, status=Conversation.Status.NEW)
    pending = make_conversation(workspace, status=Conversation.Status.PENDING)
    on_hold = make_conversation(workspace, status=Conversation.Status.ON_HOLD)
    resolved = make_conversation(workspace, status=Conversation.Status.RESOLVED)
    response = agent_client.get(INDEX)
    assert response.status_code == 200
    assert set(listed(response)) == {new.pk, pending.pk, on_hold.pk}
    assert resolved.pk not in listed(response)


def test_it_filters_by_status(agent_client, workspace):
    open_ = make_conversation(workspace, status=Conversation.Status.OPEN)
    resolved = make_conversation(workspace, status=Conversation.Status.RESOLVED)
    assert listed(agent_client.get(INDEX, {"status": "resolved"})) == [resolved.pk]
    assert listed(agent_client.get(INDEX, {"status": "open"})) == [open_.pk]
    assert set(listed(agent_client.get(INDEX, {"status": "all"}))) == {open_.pk, resolved.pk}


def test_an_unknown_status_filter_falls_back_to_active(agent_client, workspace):
    open_ = make_conversation(workspace, status=Conversation.Status.OPEN)
    make_conversation(workspace, status=Conversation.Status.RESOLVED)
    assert listed(agent_client.get(INDEX, {"status": "bogus"})) == [open_.pk]


def test_it_filters_mine_and_unassigned(agent_client, workspace, agent, owner):
    mine = make_conversation(workspace, assignee=agent)
    owners = make_conversation(workspace, assignee=owner)
    nobodys = make_conversation(workspace)
    assert listed(agent_client.get(INDEX, {"assigned": "mine"})) == [mine.pk]
    assert listed(agent_client.get(INDEX, {"assigned": "unassigned"})) == [nobodys.pk]
    assert set(listed(agent_client.get(INDEX, {"assigned": "all"}))) == {mine.pk, owners.pk, nobodys.pk}


def test_it_filters_by_priority(agent_client, workspace):
    urgent = make_conversation(workspace, priority=Conversation.Priority.URGENT)
    make_conversation(workspace, priority=Conversation.Priority.LOW)
    assert listed(agent_client.get(INDEX, {"priority": str(Conversation.Priority.URGENT)})) == [urgent.pk]


def test_it_searches_contact_names_emails_and_message_text(agent_client, workspace):
    by_name = make_conversation(workspace, name="Grace Hopper")
    by_email = make_conversation(workspace, email="linus@kernel.test")
    by_text = make_conversation(workspace, body="My invoice is wrong")
    make_conversation(workspace, name="Someone Else", body="Nothing to see")
    assert listed(agent_client.get(INDEX, {"q": "hopper"})) == [by_name.pk]
    assert listed(agent_client.get(INDEX, {"q": "kernel.test"})) == [by_email.pk]
    assert listed(agent_client.get(INDEX, {"q": "invoice"})) == [by_text.pk]


def test_search_finds_text_in_any_message_of_the_conversation(agent_client, workspace, conversation, agent):
    actions.post_agent_reply(conversation, agent, "Your parcel is with the courier")
    assert listed(agent_client.get(INDEX, {"q": "courier"})) == [conversation.pk]


def test_search_never_finds_another_workspaces_conversations(agent_client, workspace, other_workspace):
    make_conversation(other_workspace, name="Grace Hopper", body="invoice")
    response = agent_client.get(INDEX, {"q": "invoice"})
    assert listed(response) == []
    assert "Grace Hopper" not in response.content.decode()


def test_the_newest_activity_comes_first(agent_client, workspace):
    old = make_conversation(workspace, minutes_ago=30)
    newest = make_conversation(workspace, minutes_ago=1)
    middle = make_conversation(workspace, minutes_ago=10)
    assert listed(agent_client.get(INDEX)) == [newest.pk, middle.pk, old.pk]


def test_it_pages_with_a_before_cursor(agent_client, workspace):
    conversations = [make_conversation(workspace, minutes_ago=i) for i in range(queries.PAGE_SIZE + 5)]
    first = agent_client.get(INDEX)
    assert listed(first) == [c.pk for c in conversations[: queries.PAGE_SIZE]]
    cursor = next_cursor(first)
    assert cursor
    second = agent_client.get(INDEX, {"before": cursor}, **HTMX)
    assert listed(second) == [c.pk for c in conversations[queries.PAGE_SIZE :]]
    assert "<!doctype" not in second.content.decode().lower()
    assert next_cursor(second) == ""


def test_paging_neither_skips_nor_repeats_conversations_with_the_same_time(agent_client, workspace):
    same_time = timezone.now()
    conversations = [make_conversation(workspace) for _ in range(queries.PAGE_SIZE + 3)]
    Conversation.objects.filter(workspace=workspace).update(last_message_at=same_time)
    first = agent_client.get(INDEX)
    second = agent_client.get(INDEX, {"before": next_cursor(first)}, **HTMX)
    seen = listed(first) + listed(second)
    assert seen == sorted((c.pk for c in conversations), reverse=True)


def test_a_page_of_exactly_page_size_has_no_next_page(agent_client, workspace):
    for i in range(queries.PAGE_SIZE):
        make_conversation(workspace, minutes_ago=i)
    response = agent_client.get(INDEX)
    assert len(listed(response)) == queries.PAGE_SIZE
    assert next_cursor(response) == ""


def test_the_next_page_keeps_the_filters(agent_client, workspace):
    for i in range(queries.PAGE_SIZE + 2):
        make_conversation(workspace, minutes_ago=i, priority=Conversation.Priority.HIGH)
    make_conversation(workspace, minutes_ago=999, priority=Conversation.Priority.LOW)
    first = agent_client.get(INDEX, {"priority": "3"})
    assert "priority=3&before=" in first.content.decode()
    second = agent_client.get(INDEX, {"priority": "3", "before": next_cursor(first)}, **HTMX)
    assert len(listed(second)) == 2


def test_a_malformed_cursor_shows_the_first_page(agent_client, workspace):
    conversation = make_conversation(workspace)
    assert listed(agent_client.get(INDEX, {"before": "not-a-cursor"})) == [conversation.pk]


def test_an_htmx_request_for_the_list_gets_the_list_only(agent_client, workspace):
    conversation = make_conversation(workspace)
    response = agent_client.get(INDEX, HTTP_HX_TARGET="conversation-list", **HTMX)
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="conversation-list"')
    assert "<!doctype" not in page.lower()
    assert 'id="team"' not in page
    assert listed(response) == [conversation.pk]


def test_a_normal_request_gets_the_whole_page(agent_client, workspace):
    page = agent_client.get(INDEX).content.decode()
    assert page.lower().startswith("<!doctype html>")
    assert 'id="conversation-list"' in page
    assert 'id="team"' in page


# ---------------------------------------------------------------- the conversation


def test_it_shows_the_conversation_as_a_whole_page(agent_client, conversation, agent):
    actions.post_agent_reply(conversation, agent, "Checking with the warehouse", private=True)
    response = agent_client.get(url("conversation", conversation))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lower().startswith("<!doctype html>")
    assert f'id="conversation-{conversation.pk}"' in page
    assert "Hello, where is my order?" in page
    assert "Checking with the warehouse" in page
    assert 'id="conversation-list"' in page


def test_it_shows_the_conversation_pane_to_htmx(agent_client, conversation):
    response = agent_client.get(url("conversation", conversation), **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<!doctype" not in page.lower()
    assert f'id="conversation-{conversation.pk}"' in page
    assert "Hello, where is my order?" in page
    assert 'id="conversation-list"' not in page


def test_opening_an_unread_conversation_marks_it_seen_and_refreshes_its_row(agent_client, conversation):
    assert refreshed(conversation).is_unread
    first = agent_client.get(url("conversation", conversation), **HTMX).content.decode()
    assert not refreshed(conversation).is_unread
    assert refreshed(conversation).agent_last_seen_at is not None
    assert f'id="row-{conversation.pk}"' in first
    again = agent_client.get(url("conversation", conversation), **HTMX).content.decode()
    assert f'id="row-{conversation.pk}"' not in again


def test_the_thread_endpoint_returns_messages_after_the_cursor(agent_client, conversation, agent):
    first = conversation.messages.get()
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )  # older than the replay grace
    actions.post_agent_reply(conversation, agent, "Note to self", private=True)
    response = agent_client.get(url("thread", conversation), {"after": first.pk})
    page = response.content.decode()
    assert "Note to self" in page
    assert "Hello, where is my order?" not in page


def test_the_thread_endpoint_refuses_a_bad_cursor(agent_client, conversation):
    assert agent_client.get(url("thread", conversation), {"after": "x"}).status_code == 400


# ---------------------------------------------------------------- replies


def test_an_agent_replies_publicly(agent_client, conversation, agent, visitor, workspace):
    response = agent_client.post(url("reply", conversation), {"body": "It ships today", "private": "0"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="composer-{conversation.pk}"' in page
    assert "It ships today" in page
    message = conversation.messages.get(author_kind=Message.Author.AGENT)
    assert (message.body, message.private, message.author) == ("It ships today", False, agent)
    assert refreshed(conversation).status == Conversation.Status.OPEN
    _, raw = visitor
    assert (
        "It ships today"
        in agent_client.get(reverse("widget:thread"), **widget_headers(workspace, raw)).content.decode()
    )


def test_a_private_note_never_reaches_the_widget_thread(agent_client, conversation, visitor, workspace):
    response = agent_client.post(url("reply", conversation), {"body": "VIP customer, be nice", "private": "1"})
    assert response.status_code == 200
    assert conversation.messages.get(author_kind=Message.Author.AGENT).private
    assert refreshed(conversation).status == Conversation.Status.NEW
    _, raw = visitor
    widget = Client().get(reverse("widget:thread"), **widget_headers(workspace, raw)).content.decode()
    assert "Hello, where is my order?" in widget
    assert "VIP customer" not in widget


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "Write a message first."), ("   ", "Write a message first."), ("x" * 20001, "That message is too long")],
    ids=["empty", "blank", "too long"],
)
def test_it_refuses_an_empty_or_huge_reply(agent_client, conversation, body, error):
    response = agent_client.post(url("reply", conversation), {"body": body, "private": "1"})
    assert response.status_code == 422
    page = response.content.decode()
    assert error in page
    assert 'role="alert"' in page
    assert not conversation.messages.filter(author_kind=Message.Author.AGENT).exists()


# ---------------------------------------------------------------- status, priority, assignment


def test_it_sets_the_status(agent_client, conversation):
    response = agent_client.post(url("status", conversation), {"status": "pending"})
    assert response.status_code == 200
    assert f'id="controls-{conversation.pk}"' in response.content.decode()
    assert refreshed(conversation).status == Conversation.Status.PENDING


def test_it_refuses_an_unknown_status(agent_client, conversation):
    response = agent_client.post(url("status", conversation), {"status": "deleted"})
    assert response.status_code == 400
    assert refreshed(conversation).status == Conversation.Status.NEW


def test_it_sets_the_priority(agent_client, conversation):
    response = agent_client.post(url("priority", conversation), {"priority": "4"})
    assert response.status_code == 200
    assert refreshed(conversation).priority == Conversation.Priority.URGENT


@pytest.mark.parametrize("priority", ["", "high", "9", "-1"])
def test_it_refuses_an_unknown_priority(agent_client, conversation, priority):
    assert agent_client.post(url("priority", conversation), {"priority": priority}).status_code == 400
    assert refreshed(conversation).priority == Conversation.Priority.NONE


def test_it_assigns_to_a_teammate_and_unassigns(agent_client, conversation, owner):
    assert agent_client.post(url("assign", conversation), {"assignee": owner.pk}).status_code == 200
    assert refreshed(conversation).assignee == owner
    assert agent_client.post(url("assign", conversation), {"assignee": ""}).status_code == 200
    assert refreshed(conversation).assignee is None


@pytest.mark.parametrize("who", ["outsider", "nobody", "junk"])
def test_it_refuses_to_assign_to_anyone_but_a_teammate(agent_client, conversation, outsider, who):
    assignee = {"outsider": outsider.pk, "nobody": 999999, "junk": "abc"}[who]
    response = agent_client.post(url("assign", conversation), {"assignee": assignee})
    assert response.status_code == 400
    assert refreshed(conversation).assignee is None
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


# ---------------------------------------------------------------- presence and notifications


def test_an_agent_goes_away_and_comes_back_online(agent_client, agent):
    response = agent_client.post(reverse("inbox:presence"), {"availability": "away"})
    assert response.status_code == 200
    assert 'id="presence"' in response.content.decode()
    assert agent.memberships.get().availability == Membership.Availability.AWAY
    agent_client.post(reverse("inbox:presence"), {"availability": "online"})
    assert agent.memberships.get().availability == Membership.Availability.ONLINE


def test_it_refuses_an_unknown_availability(agent_client, agent):
    assert agent_client.post(reverse("inbox:presence"), {"availability": "invisible"}).status_code == 400
    assert agent.memberships.get().last_seen_at is None


def test_an_agent_turns_notifications_off_and_on(agent_client, agent):
    response = agent_client.post(reverse("inbox:notifications"), {})
    assert response.status_code == 200
    assert 'id="notifications"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.notifications_enabled is False
    agent_client.post(reverse("inbox:notifications"), {"enabled": "1"})
    agent.refresh_from_db()
    assert agent.notifications_enabled is True


# ---------------------------------------------------------------- methods and CSRF

POST_ONLY = ["reply", "status", "priority", "assign"]


@pytest.mark.parametrize("name", POST_ONLY)
def test_a_get_on_a_conversation_write_is_refused(agent_client, conversation, name):
    assert (
        agent_client.get(url(name, conversation), {"status": "resolved", "priority": "4", "body": "x"}).status_code
        == 405
    )
    conversation = refreshed(conversation)
    assert (conversation.status, conversation.priority, conversation.messages.count()) == ("new", 0, 1)


@pytest.mark.parametrize("name", ["presence", "notifications"])
def test_a_get_on_a_personal_write_is_refused(agent_client, agent, name):
    assert agent_client.get(reverse(f"inbox:{name}"), {"availability": "away"}).status_code == 405
    assert agent.memberships.get().availability == Membership.Availability.ONLINE


@pytest.mark.parametrize("name", ["index", "conversation", "thread"])
def test_a_post_on_a_page_is_refused(agent_client, conversation, name):
    target = INDEX if name == "index" else url(name, conversation)
    assert agent_client.post(target).status_code == 405


@pytest.fixture
def csrf_client(agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    return client


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("reply", {"body": "Hi"}),
        ("status", {"status": "resolved"}),
        ("priority", {"priority": "4"}),
        ("assign", {"assignee": ""}),
    ],
)
def test_a_conversation_write_without_a_csrf_token_is_refused(csrf_client, conversation, agent, name, data):
    actions.assign(conversation, agent, agent)
    assert csrf_client.post(url(name, conversation), data).status_code == 403
    conversation = refreshed(conversation)
    assert (conversation.status, conversation.priority, conversation.assignee) == ("new", 0, agent)
    assert not conversation.messages.filter(author_kind=Message.Author.AGENT).exists()


def test_personal_writes_without_a_csrf_token_are_refused(csrf_client, agent):
    assert csrf_client.post(reverse("inbox:presence"), {"availability": "away"}).status_code == 403
    assert csrf_client.post(reverse("inbox:notifications"), {}).status_code == 403
    agent.refresh_from_db()
    assert agent.memberships.get().availability == Membership.Availability.ONLINE
    assert agent.notifications_enabled is True


def test_a_write_with_the_pages_csrf_token_is_accepted(csrf_client, conversation):
    csrf_client.get(INDEX)
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(url("status", conversation), {"status": "pending"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert refreshed(conversation).status == Conversation.Status.PENDING


def test_the_conversation_page_runs_as_many_queries_for_50_messages_as_for_5(agent_client, conversation, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from helpdesk.ai.models import Feedback

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert agent_client.get(url("conversation", conversation)).status_code == 200
        return len(ctx.captured_queries)

    def add(n: int) -> None:
        for i in range(n):
            m = Message.objects.create(
                workspace=conversation.workspace,
                conversation=conversation,
                author_kind=Message.Author.AI,
                body=f"Answer {i}",
            )
            Feedback.objects.create(message=m, rating="up")

    queries()  # the first visit marks the customer's message seen (one write)
    add(4)
    few = queries()
    add(45)
    assert queries() == few


# ---------------------------------------------------------------- waiting for a person, handing back


def test_the_row_and_the_header_say_how_long_a_handed_over_visitor_has_waited(agent_client, conversation):
    actions.hand_over(conversation, "The visitor asked for a person", "Someone will reply here.")
    Conversation.objects.filter(pk=conversation.pk).update(waiting_since=timezone.now() - timedelta(minutes=12))
    html = agent_client.get(url("conversation", conversation)).content.decode()
    row = html[html.index(f'id="row-{conversation.pk}"') :]
    assert "Waiting for a person · <span data-elapsed>12 min</span>" in row[: row.index("</a>")]
    header = html[html.index(f'<p id="meta-{conversation.pk}"') :]
    assert "Waiting for a person · <span data-elapsed>12 min</span>" in header[: header.index("</p>")]
    assert "data-waiting-since=" in header  # the browser keeps the time current from there


def test_handing_back_answers_with_the_header_without_handed_over(agent_client, conversation):
    actions.hand_over(conversation, "No relevant knowledge found", "Someone will reply here.")
    before = agent_client.get(url("conversation", conversation)).content.decode()
    assert "Handed over: No relevant knowledge found" in before and "Hand back to AI" in before
    html = agent_client.post(url("hand_back", conversation), HTTP_HX_REQUEST="true").content.decode()
    assert f'<p id="meta-{conversation.pk}" hx-swap-oob="true"' in html
    assert "Handed over" not in html and "Waiting for a person" not in html and "Hand back to AI" not in html
    assert not refreshed(conversation).ai_paused


# ---------------------------------------------------------------- the AI's mode, once, for admins

DISMISS = reverse("inbox:dismiss_ai_notice")


@pytest.fixture
def no_provider(settings):
    """A fresh install: no OPENAI_API_KEY, no OPENAI_BASE_URL."""
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""


def notice(client) -> str:
    html = client.get(INDEX).content.decode()
    if 'id="ai-notice"' not in html:
        return ""
    start = html.index('id="ai-notice"')
    return html[start : html.index("</div>", start)]


def test_an_admin_is_told_in_the_inbox_that_the_ai_is_knowledge_only_and_why(client, owner, no_provider):
    client.force_login(owner)
    text = notice(client)
    assert "knowledge-only" in text
    assert "No API key and no base URL are set" in text
    assert "OpenAI API key" in text and 'href="/settings/ai/"' in text


def test_agents_get_no_notice_of_the_ai_mode(agent_client, no_provider):
    assert notice(agent_client) == ""


def test_no_notice_when_the_ai_answers_with_a_model(client, owner, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-test", ""
    client.force_login(owner)
    assert notice(client) == ""


def test_a_dismissed_notice_stays_dismissed_for_that_admin_only(client, owner, workspace, no_provider):
    other_admin = make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)
    client.force_login(owner)
    response = client.post(DISMISS, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""
    assert notice(client) == ""  # and on every later visit
    owner.refresh_from_db()
    assert owner.dismissed_notices == [f"ai-mode:{workspace.pk}:no_provider"]
    client.force_login(other_admin)
    assert "knowledge-only" in notice(client)


def test_a_notice_for_another_reason_shows_again(client, owner, workspace, no_provider):
    client.force_login(owner)
    client.post(DISMISS)
    AISettings.objects.filter(workspace=workspace).update(enabled=False)
    assert "The AI is off." in notice(client)


def test_an_agent_cannot_dismiss_the_notice(agent_client, agent, no_provider):
    assert agent_client.post(DISMISS).status_code == 403
    agent.refresh_from_db()
    assert agent.dismissed_notices == []


def test_dismissing_is_post_only(client, owner, no_provider):
    client.force_login(owner)
    assert client.get(DISMISS).status_code == 405
    owner.refresh_from_db()
    assert owner.dismissed_notices == []
