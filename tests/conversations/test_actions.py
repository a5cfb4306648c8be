import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.accounts import presence
from helpdesk.accounts.models import Membership
from helpdesk.conversations import actions, hotpath, identity
from helpdesk.conversations.models import Contact, Conversation, Message
from helpdesk.conversations.tasks import send_away_reply
from helpdesk.realtime import groups
from tests.conftest import make_member
from tests.waiting import wait_for


def test_it_saves_the_customer_message_and_opens_a_new_conversation(visitor):
    v, _ = visitor
    message = actions.post_customer_message(v, "Hi there", client_id="7d3c6f0e-8d1a-4a65-9f55-2f2b1b1f0c11")
    conversation = message.conversation
    assert conversation.status == Conversation.Status.NEW
    assert conversation.contact_id == v.contact_id
    assert conversation.last_message_preview == "Hi there"
    assert list(conversation.messages.values_list("body", flat=True)) == ["Hi there"]


def test_it_is_idempotent_on_the_client_id(visitor):
    v, _ = visitor
    first = actions.post_customer_message(v, "Hi", client_id="7d3c6f0e-8d1a-4a65-9f55-2f2b1b1f0c11")
    again = actions.post_customer_message(v, "Hi", client_id="7d3c6f0e-8d1a-4a65-9f55-2f2b1b1f0c11")
    assert again.pk == first.pk
    assert Message.objects.filter(conversation=first.conversation).count() == 1


def test_a_message_updates_its_conversation_and_the_contact_in_the_same_save(visitor):
    v, _ = visitor
    first = actions.post_customer_message(v, "First", page_url="https://shop.example/a")
    second = actions.post_customer_message(v, "Second one", page_url="https://shop.example/b")
    conversation = refreshed(first.conversation)
    assert second.conversation_id == conversation.pk
    assert conversation.last_message_preview == "Second one"
    assert conversation.last_message_at == second.created_at == conversation.last_customer_message_at
    assert conversation.page_url == "https://shop.example/a"  # where the conversation started
    assert Contact.objects.get(pk=v.contact_id).last_page_url == "https://shop.example/b"
    saved = Message.objects.get(pk=second.pk)
    assert (saved.body, saved.author_kind, saved.private, saved.sources) == ("Second one", "customer", False, [])


def test_a_visitor_known_to_be_new_still_finds_a_conversation_opened_meanwhile(workspace):
    """The hint that a visitor has no conversation yet (from when its socket connected) only
    saves a query: the lookup under the contact's lock has the last word."""
    visitor, raw = identity.start_visitor(workspace)
    on_socket = identity.visitor_for_token(workspace, raw)
    assert on_socket.has_conversation is False
    over_http = identity.visitor_for_token(workspace, raw)
    first = actions.post_customer_message(over_http, "Over HTTP")
    second = actions.post_customer_message(on_socket, "Over the socket")
    assert second.conversation_id == first.conversation_id
    assert on_socket.has_conversation is True
    assert Conversation.objects.filter(contact_id=visitor.contact_id).count() == 1


def test_a_client_id_seen_in_a_race_returns_the_saved_message(visitor, monkeypatch):
    """Two posts of one message at once (the widget's socket send and its HTTP fallback): the
    one that loses on the unique constraint answers with the winner's message."""
    v, _ = visitor
    client_id = "5a0e6c3e-7a7c-4b0f-9a43-2c3d1e5f6a7b"
    winner = actions.post_customer_message(v, "Once", client_id=client_id)
    real = hotpath.current_for_post
    looks = []

    def first_look_misses_it(contact_id, client_id):  # as if the winner had not committed yet
        found = real(contact_id, client_id)
        looks.append(found.saved_id)
        return found._replace(saved_id=None) if len(looks) == 1 else found

    monkeypatch.setattr(hotpath, "current_for_post", first_look_misses_it)
    again = actions.post_customer_message(v, "Once", client_id=client_id)
    assert again.pk == winner.pk
    assert looks == [winner.pk, winner.pk]  # the insert failed on the constraint; the retry found it
    assert Message.objects.filter(client_id=client_id).count() == 1


def test_messages_are_immutable(conversation):
    message = conversation.messages.first()
    message.body = "changed"
    with pytest.raises(ValueError):
        message.save()


# ---------------------------------------------------------------- helpers


def listen(group: str) -> str:
    """A channel of the in-memory layer that receives what is pushed to `group`."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def pushed(channel: str) -> str:
    """Everything pushed to the channel so far, concatenated."""
    layer = get_channel_layer()

    async def drain() -> list[str]:
        frames = []
        while True:
            try:
                frames.append(await asyncio.wait_for(layer.receive(channel), timeout=0.02))
            except TimeoutError:
                return frames

    return "".join(frame["html"] for frame in async_to_sync(drain)())


def refreshed(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


def bring_online(membership: Membership) -> None:
    presence.set_availability(membership, Membership.Availability.ONLINE)


# ---------------------------------------------------------------- status flow


def test_it_opens_a_new_conversation_when_an_agent_replies_publicly(conversation, agent):
    assert conversation.status == Conversation.Status.NEW
    actions.post_agent_reply(conversation, agent, "Let me check that for you.")
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.first_response_at is not None
    assert conversation.last_message_preview == "Let me check that for you."


def test_it_assigns_an_unassigned_conversation_to_the_agent_who_replies(conversation, agent):
    assert conversation.assignee is None
    actions.post_agent_reply(conversation, agent, "On it.")
    assert refreshed(conversation).assignee == agent


def test_it_keeps_the_assignee_when_another_agent_replies(conversation, agent, owner):
    actions.assign(conversation, owner, owner)
    actions.post_agent_reply(conversation, agent, "Chiming in.")
    assert refreshed(conversation).assignee == owner


def test_it_keeps_the_first_response_time_of_the_first_reply(conversation, agent):
    actions.post_agent_reply(conversation, agent, "First")
    first = refreshed(conversation).first_response_at
    actions.post_agent_reply(conversation, agent, "Second")
    assert refreshed(conversation).first_response_at == first


def test_a_private_note_changes_neither_status_nor_preview_nor_assignee(conversation, agent):
    actions.post_agent_reply(conversation, agent, "Customer seems upset", private=True)
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.NEW
    assert conversation.last_message_preview == "Hello, where is my order?"
    assert conversation.first_response_at is None
    assert conversation.assignee is None
    assert conversation.messages.get(body="Customer seems upset").private


def test_a_private_note_reaches_the_agents_but_never_the_widget(
    conversation, agent, django_capture_on_commit_callbacks
):
    agents = listen(groups.agents(conversation.workspace_id))
    widget = listen(groups.contact(conversation.contact_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.post_agent_reply(conversation, agent, "Internal: refund approved", private=True)
    assert "Internal: refund approved" in pushed(agents)
    assert "Internal: refund approved" not in pushed(widget)


def test_a_public_reply_reaches_the_widget(conversation, agent, django_capture_on_commit_callbacks):
    widget = listen(groups.contact(conversation.contact_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.post_agent_reply(conversation, agent, "Your order ships today")
    assert "Your order ships today" in pushed(widget)


def test_a_status_change_pushes_complete_controls_to_the_agents(
    conversation, agent, django_capture_on_commit_callbacks
):
    agents = listen(groups.agents(conversation.workspace_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.set_status(conversation, agent, Conversation.Status.PENDING)
    html = pushed(agents)
    assert f'id="controls-{conversation.pk}" hx-swap-oob="true"' in html
    assert '<option value="pending" selected>' in html
    assert '<option value="resolved"' in html
    assert f'<option value="{agent.pk}"' in html


@pytest.mark.parametrize("status", [Conversation.Status.PENDING, Conversation.Status.ON_HOLD])
def test_it_puts_a_conversation_on_pending_or_on_hold(conversation, agent, status):
    actions.set_status(conversation, agent, status)
    conversation = refreshed(conversation)
    assert conversation.status == status
    assert conversation.resolved_at is None
    note = conversation.messages.get(author_kind=Message.Author.SYSTEM)
    assert note.private
    assert note.body == f"Agent set the status to {conversation.get_status_display().lower()}"


def test_it_refuses_an_unknown_status(conversation, agent):
    with pytest.raises(ValueError):
        actions.set_status(conversation, agent, "deleted")
    assert refreshed(conversation).status == Conversation.Status.NEW


def test_setting_the_same_status_again_writes_no_note(conversation, agent):
    actions.set_status(conversation, agent, Conversation.Status.PENDING)
    actions.set_status(conversation, agent, Conversation.Status.PENDING)
    assert conversation.messages.filter(author_kind=Message.Author.SYSTEM).count() == 1


def test_resolving_after_an_agent_replied_is_not_an_ai_resolution(conversation, agent):
    actions.post_agent_reply(conversation, agent, "Refunded.")
    actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.RESOLVED
    assert conversation.resolved_at is not None
    assert conversation.ai_resolved is False


def test_resolving_without_a_public_human_reply_is_an_ai_resolution(conversation, agent, workspace):
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.AI, body="Here is the tracking link."
    )
    actions.post_agent_reply(conversation, agent, "AI handled it", private=True)
    actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    conversation = refreshed(conversation)
    assert conversation.resolved_at is not None
    assert conversation.ai_resolved is True


def test_an_agent_resolving_a_conversation_nobody_answered_is_not_an_ai_resolution(conversation, agent):
    actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    assert refreshed(conversation).ai_resolved is False


def test_a_conversation_that_was_handed_over_is_never_an_ai_resolution(conversation, agent, workspace):
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.AI, body="Try this."
    )
    actions.hand_over(conversation, "The visitor asked for a person", "A person will reply here.")
    actions.hand_back(refreshed(conversation), agent)
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.AI, body="And this."
    )
    actions.resolve_by_customer(refreshed(conversation))
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.RESOLVED and conversation.handed_over_at is not None
    assert conversation.ai_resolved is False


def test_the_visitor_saying_solved_after_only_an_ai_answer_is_an_ai_resolution(conversation, workspace):
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.AI, body="Here you go."
    )
    actions.resolve_by_customer(conversation)
    assert refreshed(conversation).ai_resolved is True


def test_a_customer_message_reopens_a_resolved_conversation(visitor, conversation, agent):
    v, _ = visitor
    actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    message = actions.post_customer_message(v, "Actually, one more thing")
    assert message.conversation_id == conversation.pk
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.resolved_at is None
    assert conversation.ai_resolved is False
    assert conversation.last_message_preview == "Actually, one more thing"


def test_an_agent_reopening_a_resolved_conversation_clears_the_resolution(conversation, agent, workspace):
    Message.objects.create(
        workspace=workspace, conversation=conversation, author_kind=Message.Author.AI, body="Tracking link."
    )
    actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    assert refreshed(conversation).ai_resolved is True
    actions.set_status(conversation, agent, Conversation.Status.OPEN)
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.resolved_at is None
    assert conversation.ai_resolved is False


@pytest.mark.parametrize("status", [Conversation.Status.PENDING, Conversation.Status.ON_HOLD])
def test_a_customer_message_on_a_pending_or_on_hold_conversation_opens_it(
    visitor, conversation, agent, status, django_capture_on_commit_callbacks
):
    """The status says whose turn it is: once the customer writes, the team's. The row and the
    open header's status control say so live."""
    v, _ = visitor
    actions.set_status(conversation, agent, status)
    agents = listen(groups.agents(conversation.workspace_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.post_customer_message(v, "Any news?")
    conversation = refreshed(conversation)
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.last_message_preview == "Any news?"
    html = pushed(agents)
    assert f'id="row-{conversation.pk}"' in html and 'data-status="open"' in html
    assert f'id="status-{conversation.pk}" hx-swap-oob="true"' in html
    assert '<option value="open" selected>' in html


def test_opening_a_pending_conversation_costs_the_customer_message_no_query(
    visitor, conversation, agent, django_assert_num_queries
):
    """The same statements as a message on an open conversation: the status is read with the
    locked conversation and written in the message's one save."""
    v, _ = visitor
    actions.post_customer_message(v, "Warm-up")  # the contact's last-seen write is behind us
    with CaptureQueriesContext(connection) as on_open:
        actions.post_customer_message(v, "One more thing", client_id="c-open")
    actions.set_status(conversation, agent, Conversation.Status.PENDING)
    with django_assert_num_queries(len(on_open.captured_queries)):
        actions.post_customer_message(v, "Any news?", client_id="c-pending")
    assert refreshed(conversation).status == Conversation.Status.OPEN


# ---------------------------------------------------------------- handover: waiting for a person


def test_a_handover_waits_for_a_person_until_an_agent_replies(
    visitor, conversation, agent, django_capture_on_commit_callbacks
):
    agents = listen(groups.agents(conversation.workspace_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.hand_over(conversation, "The visitor asked for a person", "Someone will reply here.")
    waiting = refreshed(conversation)
    assert waiting.waiting_since is not None
    html = pushed(agents)
    assert f'id="row-{conversation.pk}"' in html and f'id="meta-{conversation.pk}" hx-swap-oob="true"' in html
    header = html[html.index(f'<p id="meta-{conversation.pk}"') :]
    assert "Waiting for a person" in header[: header.index("</p>")]
    row = html[html.rindex(f'<a id="row-{conversation.pk}"') :]
    assert "Waiting for a person" in row[: row.index("</a>")]
    v, _ = visitor
    actions.post_customer_message(v, "Hello?")
    actions.post_agent_reply(conversation, agent, "Checking with finance", private=True)
    assert refreshed(conversation).waiting_since == waiting.waiting_since  # still nobody answered them
    with django_capture_on_commit_callbacks(execute=True):
        actions.post_agent_reply(conversation, agent, "Hi, I'm here")
    assert refreshed(conversation).waiting_since is None
    html = pushed(agents)
    assert f'id="meta-{conversation.pk}" hx-swap-oob="true"' in html and "Waiting for a person" not in html


@pytest.mark.parametrize("end", ["hand_back", "resolve", "solved"])
def test_handing_back_or_resolving_ends_the_wait(conversation, agent, end):
    actions.hand_over(conversation, "The visitor asked for a person", "Someone will reply here.")
    conversation = refreshed(conversation)
    if end == "hand_back":
        actions.hand_back(conversation, agent)
    elif end == "resolve":
        actions.set_status(conversation, agent, Conversation.Status.RESOLVED)
    else:
        actions.resolve_by_customer(conversation)
    assert refreshed(conversation).waiting_since is None


def test_handing_back_clears_handed_over_from_the_open_header(conversation, agent, django_capture_on_commit_callbacks):
    actions.hand_over(conversation, "No relevant knowledge found", "Someone will reply here.")
    agents = listen(groups.agents(conversation.workspace_id))
    with django_capture_on_commit_callbacks(execute=True):
        actions.hand_back(refreshed(conversation), agent)
    html = pushed(agents)
    header = html[html.index(f'<p id="meta-{conversation.pk}" hx-swap-oob="true"') :]
    header = header[: header.index("</p>")]
    assert f"#{conversation.pk}" in header and "Handed over" not in header and "Waiting" not in header
    assert "Hand back to AI" not in html


def test_it_marks_a_customer_message_unread_until_an_agent_sees_it(conversation):
    assert conversation.is_unread
    actions.mark_seen_by_agent(conversation)
    assert not conversation.is_unread  # set on the object it was given
    assert not refreshed(conversation).is_unread


def test_seeing_a_conversation_with_nothing_unread_writes_nothing(conversation, django_assert_num_queries):
    actions.mark_seen_by_agent(conversation)
    seen_at = refreshed(conversation).agent_last_seen_at
    with django_assert_num_queries(0):
        actions.mark_seen_by_agent(conversation)
    assert refreshed(conversation).agent_last_seen_at == seen_at


# ---------------------------------------------------------------- priority and assignment


def test_it_sets_the_priority_with_a_system_note(conversation, agent):
    actions.set_priority(conversation, agent, Conversation.Priority.URGENT)
    conversation = refreshed(conversation)
    assert conversation.priority == Conversation.Priority.URGENT
    note = conversation.messages.get(author_kind=Message.Author.SYSTEM)
    assert note.body == "Agent set the priority to urgent"
    assert note.private


def test_it_refuses_an_unknown_priority(conversation, agent):
    with pytest.raises(ValueError):
        actions.set_priority(conversation, agent, 99)
    assert refreshed(conversation).priority == Conversation.Priority.NONE
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_it_assigns_to_a_teammate_with_a_system_note(conversation, agent, owner):
    actions.assign(conversation, owner, agent)
    conversation = refreshed(conversation)
    assert conversation.assignee == agent
    assert (
        conversation.messages.get(author_kind=Message.Author.SYSTEM).body == "Owner assigned the conversation to Agent"
    )


def test_it_notes_when_an_agent_takes_and_then_unassigns_a_conversation(conversation, agent):
    actions.assign(conversation, agent, agent)
    actions.assign(conversation, agent, None)
    assert refreshed(conversation).assignee is None
    notes = list(conversation.messages.filter(author_kind=Message.Author.SYSTEM).values_list("body", flat=True))
    assert notes == ["Agent took the conversation", "Agent unassigned the conversation"]


def test_it_refuses_to_assign_to_someone_outside_the_workspace(conversation, agent, outsider):
    with pytest.raises(ValueError):
        actions.assign(conversation, agent, outsider)
    assert refreshed(conversation).assignee is None
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_it_refuses_to_assign_to_a_deactivated_member(conversation, agent, workspace):
    former = make_member(workspace, "former@acme.test")
    Membership.objects.filter(user=former).update(is_active=False)
    with pytest.raises(ValueError):
        actions.assign(conversation, agent, former)
    assert refreshed(conversation).assignee is None


# ---------------------------------------------------------------- identify


def test_it_records_what_the_host_page_knows_about_the_visitor(visitor):
    v, _ = visitor
    contact = identity.identify(v, name="Ada Lovelace", email="ada@example.com", traits={"plan": "pro"})
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.traits) == ("Ada Lovelace", "ada@example.com", {"plan": "pro"})
    assert contact.pk == v.contact_id
    assert contact.verified is False


def test_it_merges_traits_and_keeps_fields_that_are_not_sent(visitor):
    v, _ = visitor
    identity.identify(v, name="Ada", traits={"plan": "pro", "seats": 3})
    contact = identity.identify(v, traits={"plan": "enterprise"})
    contact.refresh_from_db()
    assert contact.name == "Ada"
    assert contact.traits == {"plan": "enterprise", "seats": 3}


def test_a_correct_hash_links_the_visitor_to_a_verified_contact_with_its_conversations(
    visitor, conversation, workspace
):
    v, _ = visitor
    anonymous_id = v.contact_id
    contact = identity.identify(
        v, external_id="user-42", user_hash=identity.identity_hash(workspace, "user-42"), name="Ada"
    )
    assert contact.verified
    assert contact.external_id == "user-42"
    assert contact.pk != anonymous_id
    v.refresh_from_db()
    assert v.contact_id == contact.pk
    assert refreshed(conversation).contact_id == contact.pk
    assert Contact.objects.get(pk=contact.pk).name == "Ada"


def test_two_browsers_of_the_same_user_share_one_verified_contact(workspace):
    first, _ = identity.start_visitor(workspace)
    second, _ = identity.start_visitor(workspace)
    user_hash = identity.identity_hash(workspace, "user-42")
    one = identity.identify(first, external_id="user-42", user_hash=user_hash)
    two = identity.identify(second, external_id="user-42", user_hash=user_hash)
    assert one.pk == two.pk
    assert Contact.objects.filter(workspace=workspace, external_id="user-42").count() == 1


@pytest.mark.parametrize(
    "claim",
    [
        {"external_id": "user-42", "user_hash": "0" * 64},
        {"external_id": "user-42"},
        {"user_hash": "0" * 64},
    ],
    ids=["wrong hash", "no hash", "no external id"],
)
def test_an_unproven_identity_is_refused_and_changes_nothing(visitor, conversation, claim):
    v, _ = visitor
    anonymous_id = v.contact_id
    with pytest.raises(identity.IdentityRefused):
        identity.identify(v, name="Mallory", **claim)
    v.refresh_from_db()
    assert v.contact_id == anonymous_id
    assert refreshed(conversation).contact_id == anonymous_id
    assert Contact.objects.get(pk=anonymous_id).name == ""
    assert not Contact.objects.filter(verified=True).exists()


def test_a_hash_signed_with_another_workspaces_secret_is_refused(visitor, other_workspace):
    v, _ = visitor
    with pytest.raises(identity.IdentityRefused):
        identity.identify(v, external_id="user-42", user_hash=identity.identity_hash(other_workspace, "user-42"))
    assert not Contact.objects.filter(verified=True).exists()


def test_the_same_external_id_in_another_workspace_is_another_contact(workspace, other_workspace):
    ours, _ = identity.start_visitor(workspace)
    theirs, _ = identity.start_visitor(other_workspace)
    a = identity.identify(ours, external_id="user-42", user_hash=identity.identity_hash(workspace, "user-42"))
    b = identity.identify(theirs, external_id="user-42", user_hash=identity.identity_hash(other_workspace, "user-42"))
    assert a.pk != b.pk
    assert (a.workspace_id, b.workspace_id) == (workspace.pk, other_workspace.pk)


# ---------------------------------------------------------------- away reply (AI off)


@pytest.fixture
def ai_off(workspace):
    from helpdesk.ai.models import AISettings

    AISettings.objects.update_or_create(workspace=workspace, defaults={"enabled": False})


def test_with_the_ai_on_every_customer_message_goes_to_the_ai(visitor, enqueued, django_capture_on_commit_callbacks):
    from helpdesk.ai.tasks import answer

    v, _ = visitor
    with django_capture_on_commit_callbacks(execute=True):
        first = actions.post_customer_message(v, "Hello?")
    with django_capture_on_commit_callbacks(execute=True):
        second = actions.post_customer_message(v, "Anyone?")
    assert enqueued == [(answer.name, (first.pk,)), (answer.name, (second.pk,))]


def test_the_away_reply_waits_and_does_not_wake_the_workers(
    visitor, ai_off, settings, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    settings.AWAY_REPLY_DELAY_SECONDS = 3
    v, _ = visitor
    with django_capture_on_commit_callbacks(execute=True):
        with CaptureQueriesContext(connection) as queries:
            message = actions.post_customer_message(v, "Hello?")
    notified = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("NOTIFY")]
    task = DBTaskResult.objects.get(task_path=send_away_reply.module_path)
    assert task.args_kwargs["args"] == [message.conversation_id]
    assert timedelta(seconds=2) < task.run_after - message.created_at <= timedelta(seconds=4)
    assert notified == []


def test_a_new_conversation_without_the_ai_enqueues_the_away_reply_task_once(
    visitor, ai_off, enqueued, django_capture_on_commit_callbacks
):
    v, _ = visitor
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.post_customer_message(v, "Hello?")
    with django_capture_on_commit_callbacks(execute=True):
        actions.post_customer_message(v, "Anyone?")
    assert enqueued == [(send_away_reply.name, (message.conversation_id,))]


def test_a_new_conversation_while_an_agent_is_online_gets_no_away_reply(
    visitor, ai_off, agent, enqueued, django_capture_on_commit_callbacks
):
    """The task is enqueued all the same (asking who is online is its job, off the message's
    way to the inbox), and it posts nothing."""
    bring_online(agent.memberships.get())
    v, _ = visitor
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.post_customer_message(v, "Hello?")
    assert enqueued == [(send_away_reply.name, (message.conversation_id,))]
    send_away_reply.call(message.conversation_id)
    assert not message.conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_the_away_reply_posts_the_workspace_away_message_to_the_customer(conversation, workspace):
    send_away_reply.call(conversation.pk)
    reply = conversation.messages.get(author_kind=Message.Author.SYSTEM)
    assert reply.body == workspace.away_message
    assert reply.is_public


def test_the_away_reply_is_posted_only_once(conversation):
    send_away_reply.call(conversation.pk)
    send_away_reply.call(conversation.pk)
    assert conversation.messages.filter(author_kind=Message.Author.SYSTEM).count() == 1


def test_the_away_reply_is_not_posted_when_an_agent_is_online(conversation, agent):
    bring_online(agent.memberships.get())
    send_away_reply.call(conversation.pk)
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_an_agent_who_chose_online_but_left_long_ago_counts_as_away(conversation, agent):
    membership = agent.memberships.get()
    bring_online(membership)
    Membership.objects.filter(pk=membership.pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
    send_away_reply.call(conversation.pk)
    assert conversation.messages.filter(author_kind=Message.Author.SYSTEM).count() == 1


def test_an_agent_who_chose_away_counts_as_away(conversation, agent):
    presence.set_availability(agent.memberships.get(), Membership.Availability.AWAY)
    send_away_reply.call(conversation.pk)
    assert conversation.messages.filter(author_kind=Message.Author.SYSTEM).count() == 1


def test_the_away_reply_is_not_posted_after_an_agent_answered(conversation, agent):
    actions.post_agent_reply(conversation, agent, "Hi, I'm here")
    presence.set_availability(agent.memberships.get(), Membership.Availability.AWAY)
    send_away_reply.call(conversation.pk)
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_no_away_reply_when_the_workspace_has_no_away_message(conversation, workspace):
    workspace.away_message = ""
    workspace.save(update_fields=["away_message"])
    send_away_reply.call(conversation.pk)
    assert not conversation.messages.filter(author_kind=Message.Author.SYSTEM).exists()


def test_the_away_reply_of_a_deleted_conversation_does_nothing(conversation):
    conversation_id = conversation.pk
    conversation.delete()
    send_away_reply.call(conversation_id)
    assert not Message.objects.filter(conversation_id=conversation_id).exists()


def test_an_unsigned_identify_does_not_overwrite_a_verified_contact(visitor):
    v, _ = visitor
    secret_id = "user-42"
    contact = identity.identify(
        v,
        external_id=secret_id,
        user_hash=identity.identity_hash(v.workspace, secret_id),
        name="Ada",
        email="ada@acme.test",
    )
    v.refresh_from_db()
    again = identity.identify(v, name="Mallory", email="mallory@evil.test")
    assert again.pk == contact.pk
    assert (again.name, again.email) == ("Ada", "ada@acme.test")


@pytest.mark.django_db(transaction=True)
def test_two_first_messages_at_once_open_one_conversation(workspace):
    """The second waits for the contact's lock, then finds the conversation the first opened
    (its lookup runs after the lock is granted, not in the snapshot from before the wait)."""
    import threading

    from django.db import connection as db_connection
    from django.db import transaction

    visitor, raw = identity.start_visitor(workspace)
    first_tab = identity.visitor_for_token(workspace, raw)
    second_tab = identity.visitor_for_token(workspace, raw)
    assert first_tab.has_conversation is False and second_tab.has_conversation is False
    holding, done = threading.Event(), threading.Event()
    errors, second = [], []

    def first():
        try:
            with transaction.atomic():
                actions.post_customer_message(first_tab, "From the first tab")
                holding.set()
                done.wait(10)  # until the second tab is seen waiting for the lock
        except Exception as exc:
            errors.append(exc)
        finally:
            holding.set()
            db_connection.close()

    def then_second():
        try:
            second.append(actions.post_customer_message(second_tab, "From the second tab"))
        except Exception as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    def waiting_for_a_lock() -> int:
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0]

    threads = [threading.Thread(target=first), threading.Thread(target=then_second)]
    threads[0].start()
    assert holding.wait(5)
    threads[1].start()
    try:
        wait_for(waiting_for_a_lock, 5, message="the second tab to wait for the first one's lock")
    finally:
        done.set()
        for thread in threads:
            thread.join(5)
    assert errors == []
    conversations = Conversation.objects.filter(contact_id=visitor.contact_id)
    assert conversations.count() == 1
    assert sorted(conversations.get().messages.values_list("body", flat=True)) == [
        "From the first tab",
        "From the second tab",
    ]
    assert second[0].conversation_id == conversations.get().pk
