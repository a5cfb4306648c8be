"""What the websocket consumers do in the database thread: look-ups, replays, typing and a
visitor's message over the socket, all access-checked. The consumers (async) call these."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from helpdesk.accounts import access, presence
from helpdesk.accounts.models import Membership
from helpdesk.conversations import actions, attachments, identity, intake
from helpdesk.conversations.models import Contact, Conversation, Message, Visitor
from helpdesk.realtime import broadcast, codes, groups
from helpdesk.workspace.models import Workspace

REPLAY_LIMIT = 500
MAX_ID = 2**63 - 1  # ids are bigints: a larger cursor is not one
# Message ids are given out when a row is inserted, but transactions in different processes
# commit (and push) in their own order: a client may hear of message 11 before message 10
# commits. So a replay also re-sends the last minute's messages below the cursor; clients
# show each message once, by id.
REPLAY_GRACE = timedelta(seconds=60)


def _after(after: int):
    return Q(id__gt=after) | Q(created_at__gte=timezone.now() - REPLAY_GRACE)


def widget_visitor(token: str, visitor_token: str, ip: str) -> Visitor | int:
    """The visitor a widget socket connects as, or the close code that refuses it. The
    address's connects are counted before anything is looked up (a reconnect storm costs no
    database work), the visitor's after."""
    if intake.live_refusal(ip=ip):
        return codes.TOO_MANY
    if not token or len(token) > 100 or intake.NUL in token or intake.NUL in visitor_token:
        return codes.FORBIDDEN
    workspace = Workspace.objects.filter(public_token=token, widget_enabled=True).first()
    visitor = identity.visitor_for_token(workspace, visitor_token) if workspace is not None else None
    if visitor is None or workspace is None:
        return codes.FORBIDDEN
    if intake.live_refusal(visitor_id=visitor.pk):
        return codes.TOO_MANY
    visitor.workspace = workspace  # read already: the resumes' availability needs it
    return visitor


def widget_replay(visitor: Visitor, after: int) -> str:
    """Public messages of the visitor's conversations after the cursor, oldest first."""
    messages = attachments.prefetch(
        list(
            Message.objects.filter(_after(after), conversation__contact_id=visitor.contact_id, private=False)
            .select_related("author", "workspace")
            .order_by("id")[:REPLAY_LIMIT]
        )
    )
    return "".join(render_to_string("widget/chat.html#message-oob", {"message": m}) for m in messages)


def widget_replay_limited(visitor: Visitor, after: int, ip: str) -> str | None:
    """A resume frame's replay, or None when the visitor or their address is over the limit.
    With the workspace's availability: pushes missed while the socket was down include it."""
    if intake.live_refusal(ip=ip, visitor_id=visitor.pk):
        return None
    return widget_replay(visitor, after) + widget_state(visitor)


def widget_state(visitor: Visitor) -> str:
    """What a replay tells the widget besides messages: the workspace's availability, and
    whether it knows where to email the visitor (its offer to answer by email is for those it
    does not), since the host page's identify or another tab may have given the address."""
    state = presence.widget_state(visitor.workspace)
    known = Contact.objects.filter(pk=visitor.contact_id).exclude(email="").exists()
    context = {"email_known": known, "online": state["online"], "ask_first": visitor.workspace.widget_ask_email_first}
    return render_to_string("widget/chat.html#availability-oob", state) + render_to_string(
        "widget/chat.html#email-state-oob", context
    )


def widget_message(visitor: Visitor, body, client_id, page_url, ip: str) -> bool:
    """A message the widget sent over its socket, through the same intake as the HTTP API (the
    push of the saved message is the widget's acknowledgement). Malformed frames raise
    ValueError (the socket closes); a message the HTTP API would refuse (empty, too long, too
    fast) is dropped here, unsaved: the widget, seeing no acknowledgement, posts it over HTTP
    with the same client_id and shows the refusal."""
    if not all(isinstance(v, str) for v in (body, client_id, page_url)) or not client_id:
        raise ValueError("bad message frame")
    outcome = intake.post_visitor_message(visitor, body, client_id=client_id, page_url=page_url, ip=ip)
    if isinstance(outcome, intake.Refusal):
        if outcome.code == "bad_client_id":
            raise ValueError("bad message frame")
        return False
    return True


def visitor_seen(visitor: Visitor, message_id: int) -> bool:
    return actions.mark_seen_by_customer(visitor.contact_id, message_id)


def visitor_typing(visitor: Visitor, ip: str) -> None:
    if not intake.typing_allowed(f"visitor:{visitor.pk}", ip):
        return
    conversation = actions.current_conversation(visitor.contact)
    if conversation is None:
        return
    html = render_to_string(
        "inbox/conversation.html#typing-oob", {"conversation": conversation, "who": visitor.contact.display_name}
    )
    broadcast.send(groups.agents(visitor.workspace_id), html)


def inbox_membership(user) -> Membership | None:
    return access.membership_for_user(user)


def inbox_sign_in_holds(membership: Membership, session_key: str) -> bool:
    """Whether the session an inbox socket was opened with is still signed in as its agent (not
    signed out, expired, or left behind by a password change), and the membership is still
    active with the same role. Two small queries: the session row, the membership and user."""
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    if data.get(SESSION_KEY) != str(membership.user_id):
        return False
    current = (
        Membership.objects.select_related("user").filter(pk=membership.pk, is_active=True, user__is_active=True).first()
    )
    if current is None or current.role != membership.role:
        return False
    return constant_time_compare(data.get(HASH_SESSION_KEY, ""), current.user.get_session_auth_hash())


def _conversation(membership: Membership, conversation_id: int) -> Conversation | None:
    return Conversation.objects.filter(pk=conversation_id, workspace_id=membership.workspace_id).first()


def inbox_replay(membership: Membership, conversation_id: int, after: int) -> str:
    conversation = _conversation(membership, conversation_id)
    if conversation is None:
        return ""
    messages = attachments.prefetch(
        list(
            conversation.messages.filter(_after(after))
            .select_related("author", "feedback")
            .order_by("id")[:REPLAY_LIMIT]
        )
    )
    return "".join(
        render_to_string("inbox/conversation.html#message-oob", {"message": m, "conversation": conversation})
        for m in messages
    )


def agent_typing(membership: Membership, conversation_id: int) -> None:
    if not intake.typing_allowed(f"agent:{membership.user_id}:{conversation_id}"):
        return
    conversation = _conversation(membership, conversation_id)
    if conversation is None:
        return
    html = render_to_string("widget/chat.html#typing-oob", {"who": membership.user.display_name})
    broadcast.send(groups.contact(conversation.contact_id), html)


def agent_seen(membership: Membership) -> None:
    presence.touch(membership)
