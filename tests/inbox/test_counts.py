"""Each inbox view shows its count: kept by database triggers whatever writes a conversation,
read in one query of a few rows however many conversations there are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.accounts.models import User
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Conversation, ConversationCount
from helpdesk.inbox import queries
from helpdesk.workspace.models import Workspace
from tests.conftest import make_member
from tests.inbox.test_views import HTMX, INDEX, make_conversation

S = Conversation.Status


def truth(workspace) -> dict:
    """The counts as a GROUP BY over the conversations finds them."""
    return {
        (s, a, p): n
        for s, a, p, n in Conversation.objects.filter(workspace=workspace)
        .values("status", "assignee_id", "priority")
        .annotate(n=Count("id"))
        .values_list("status", "assignee_id", "priority", "n")
    }


def kept(workspace) -> dict:
    return {
        (c.status, c.assignee_id, c.priority): c.n
        for c in ConversationCount.objects.filter(workspace=workspace).exclude(n=0)
    }


def test_the_counts_follow_every_kind_of_write(workspace, other_workspace, agent, owner, visitor):
    v, _raw = visitor
    first = actions.post_customer_message(v, "Hi").conversation  # the hand-written statements
    second = make_conversation(workspace, status=S.OPEN, priority=2)  # the ORM
    make_conversation(other_workspace)
    assert kept(workspace) == truth(workspace) == {(S.NEW, None, 0): 1, (S.OPEN, None, 2): 1}
    actions.assign(first, agent, agent)
    actions.set_status(first, agent, S.PENDING)
    actions.set_priority(second, agent, 4)
    actions.assign(second, agent, owner)
    Conversation.objects.filter(pk=second.pk).update(status=S.RESOLVED)  # a bulk update
    actions.post_customer_message(v, "Still there?")  # the customer's turn is over: pending becomes open
    assert kept(workspace) == truth(workspace) == {(S.OPEN, agent.pk, 0): 1, (S.RESOLVED, owner.pk, 4): 1}
    Conversation.objects.filter(pk=second.pk).update(last_message_preview="x")  # not a counted column
    first.delete()
    assert kept(workspace) == truth(workspace) == {(S.RESOLVED, owner.pk, 4): 1}
    assert kept(other_workspace) == {(S.NEW, None, 0): 1}


def test_a_deleted_assignee_or_workspace_leaves_the_counts_right(workspace, other_workspace, agent):
    actions.assign(make_conversation(workspace), agent, agent)
    make_conversation(workspace)
    User.objects.filter(pk=agent.pk).delete()  # the conversation becomes unassigned
    assert kept(workspace) == truth(workspace) == {(S.NEW, None, 0): 2}
    make_conversation(other_workspace)
    Workspace.objects.filter(pk=other_workspace.pk).delete()
    assert not ConversationCount.objects.filter(workspace_id=other_workspace.pk).exists()


def test_recount_rebuilds_a_workspaces_counts(workspace):
    make_conversation(workspace, status=S.OPEN)
    ConversationCount.objects.filter(workspace=workspace).update(n=42)
    ConversationCount.recount(workspace.pk)
    assert kept(workspace) == truth(workspace) == {(S.OPEN, None, 0): 1}


def test_each_view_counts_with_the_other_filters_as_they_are(workspace, agent, owner):
    membership = agent.memberships.get()
    for status, assignee, priority in [
        (S.NEW, None, 0),
        (S.NEW, agent, 3),
        (S.OPEN, agent, 0),
        (S.PENDING, owner, 3),
        (S.RESOLVED, agent, 0),
        (S.RESOLVED, None, 3),
    ]:
        make_conversation(workspace, status=status, assignee=assignee, priority=priority)

    def counted(**query):
        c = queries.counts(membership, queries.Filters(**query))
        return {tab: n for tab, _label, n in c.statuses}, {tab: n for tab, _label, n in c.assigned}

    statuses, assigned = counted()
    assert statuses == {"active": 4, "new": 2, "open": 1, "pending": 1, "on_hold": 0, "resolved": 2, "all": 6}
    assert assigned == {"all": 4, "mine": 2, "unassigned": 1}
    statuses, assigned = counted(assigned="mine", status="resolved")
    assert statuses == {"active": 2, "new": 1, "open": 1, "pending": 0, "on_hold": 0, "resolved": 1, "all": 3}
    assert assigned == {"all": 2, "mine": 1, "unassigned": 1}
    statuses, assigned = counted(priority="3", assigned="unassigned")
    assert statuses["all"] == 1 and statuses["resolved"] == 1 and assigned == {"all": 2, "mine": 1, "unassigned": 0}


def test_the_inbox_shows_each_views_count(agent_client, workspace, agent):
    make_conversation(workspace, status=S.NEW)
    make_conversation(workspace, status=S.OPEN, assignee=agent)
    make_conversation(workspace, status=S.RESOLVED)
    page = agent_client.get(INDEX).content.decode()
    assert re.search(r'>Active</span><span [^>]*data-count="active">2<', page)
    assert re.search(r'>Resolved</span><span [^>]*data-count="resolved">1<', page)
    assert (
        ">Mine (1)</option>" in page and ">Unassigned (1)</option>" in page and ">Everyone&#x27;s (2)</option>" in page
    )
    # Another view: the list, and the counts beside it, out of band; its tabs keep the filter.
    swapped = agent_client.get(INDEX, {"assigned": "mine"}, HTTP_HX_TARGET="conversation-list", **HTMX).content.decode()
    assert 'id="status-nav" class="space-y-0.5 text-sm" hx-swap-oob="true"' in swapped
    assert re.search(r'data-count="active">1<', swapped) and re.search(r'data-count="resolved">0<', swapped)
    assert "?status=resolved&amp;assigned=mine" in swapped
    assert '<option value="mine" data-count="1" selected>' in swapped


def test_the_counts_endpoint_answers_the_views_counts_out_of_band(agent_client, workspace):
    make_conversation(workspace, status=S.PENDING)
    html = agent_client.get(reverse("inbox:counts"), {"status": "pending"}).content.decode()
    assert re.search(r'data-count="pending">1<', html) and 'id="assigned-filter"' in html
    assert 'id="filter-status" type="hidden" name="status" value="pending" hx-swap-oob="true"' in html


def test_an_outsider_never_sees_another_workspaces_counts(client, workspace, outsider):
    make_conversation(workspace, status=S.NEW)
    client.force_login(outsider)
    html = client.get(reverse("inbox:counts")).content.decode()
    assert re.search(r'data-count="new">0<', html)


@pytest.mark.parametrize("n", [1, 30])
def test_the_counts_cost_one_query_however_many_conversations(
    agent_client, workspace, agent, n, django_assert_num_queries
):
    for i in range(n):
        make_conversation(workspace, status=[S.NEW, S.OPEN, S.RESOLVED][i % 3], priority=i % 5)
    membership = agent.memberships.get()
    with django_assert_num_queries(1):
        queries.counts(membership, queries.Filters(priority="2"))
    with CaptureQueriesContext(connection) as ctx:
        assert agent_client.get(INDEX).status_code == 200
    assert sum("conversationcount" in q["sql"] for q in ctx.captured_queries) == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_conversations_already_there(workspace):
    agent = make_member(workspace, "ada@acme.test")
    visitor, _raw = identity.start_visitor(workspace)
    actions.post_customer_message(visitor, "Hi")
    make_conversation(workspace, status=S.OPEN, assignee=agent, priority=1)
    expected = truth(workspace)
    graph = MigrationExecutor(connection).loader.graph
    latest = graph.leaf_nodes()
    # The migration just before the counts' (found by name, whatever its number becomes).
    counts = next(
        key for key in graph.nodes if key[0] == "conversations" and key[1].endswith("_counts_kept_by_triggers")
    )
    before = next(parent for parent in graph.node_map[counts].parents if parent.key[0] == "conversations").key
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        # While there were no counts, written with the models of that time (later migrations'
        # columns, such as the contact's email_verified, are not there).
        old = executor.loader.project_state([before]).apps
        contact = old.get_model("conversations", "Contact").objects.create(workspace_id=workspace.pk)
        old.get_model("conversations", "Conversation").objects.create(
            workspace_id=workspace.pk, contact=contact, status=S.PENDING
        )
        expected[(S.PENDING, None, 0)] = 1
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    assert kept(workspace) == expected
    make_conversation(workspace, status=S.PENDING)  # and the triggers are back
    assert kept(workspace)[(S.PENDING, None, 0)] == 2
