"""Email for agents who are away from the inbox: what waits for them, at most every
AGENT_EMAIL_EVERY_SECONDS, never one per message.

An agent whose inbox has not been open for AGENT_ONLINE_SECONDS, with the personal setting
on (the inbox's "Email me while I'm away"), gets one email of the conversations that came
since the last one: new conversations waiting for a person (unassigned, and either handed
over or never answered by the AI) and customers' replies in conversations assigned to them
that they have not read. The worker looks every NOTIFY_SWEEP_SECONDS (a thread, like the
presence sweep); each agent is handled by one worker of several (their row is locked, others
skip it), and their mark moves before the email goes, so nobody gets an email twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.accounts.models import Membership, User
from helpdesk.conversations.models import Conversation, Message

logger = logging.getLogger(__name__)

LOOK_BACK = timedelta(days=1)  # an agent never told before: what came in the last day
MAX_LISTED = 20


def waiting_for(membership: Membership, since) -> tuple[list[Conversation], list[Conversation]]:
    """(new conversations waiting for a person, replies in the agent's conversations) since."""
    ai_answered = Message.objects.filter(conversation=OuterRef("pk"), author_kind=Message.Author.AI, private=False)
    base = Conversation.objects.filter(workspace_id=membership.workspace_id).select_related("contact")
    new = list(
        base.filter(created_at__gt=since, assignee__isnull=True)
        .exclude(status=Conversation.Status.RESOLVED)
        .filter(Q(waiting_since__isnull=False) | ~Exists(ai_answered))
        .order_by("-created_at")[:MAX_LISTED]
    )
    replies = list(
        base.filter(assignee_id=membership.user_id, last_customer_message_at__gt=since)
        .filter(Q(agent_last_seen_at__isnull=True) | Q(agent_last_seen_at__lt=F("last_customer_message_at")))
        .exclude(pk__in=[c.pk for c in new])
        .order_by("-last_customer_message_at")[:MAX_LISTED]
    )
    return new, replies


def _candidates():
    now = timezone.now()
    away = now - timedelta(seconds=settings.AGENT_ONLINE_SECONDS)
    due = now - timedelta(seconds=settings.AGENT_EMAIL_EVERY_SECONDS)
    return (
        Membership.objects.filter(is_active=True, user__is_active=True, user__email_notifications=True)
        .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=away))
        .filter(Q(user__email_notified_at__isnull=True) | Q(user__email_notified_at__lt=due))
    )


def sweep() -> int:
    """Email every agent who is due; how many emails went."""
    sent = 0
    for membership_id in _candidates().values_list("pk", flat=True)[:500]:
        if notify(membership_id):
            sent += 1
    return sent


def notify(membership_id: int) -> bool:
    now = timezone.now()
    with transaction.atomic():
        membership = (
            (_candidates().select_related("user", "workspace").select_for_update(skip_locked=True, of=("user",)))
            .filter(pk=membership_id)
            .first()
        )
        if membership is None:  # another worker has them, or they came back, or were told
            return False
        user: User = membership.user
        since = max(user.email_notified_at or now - LOOK_BACK, now - LOOK_BACK)
        # An agent who was in the inbox since then has seen what came before.
        if membership.last_seen_at and membership.last_seen_at > since:
            since = membership.last_seen_at
        new, replies = waiting_for(membership, since)
        User.objects.filter(pk=user.pk).update(email_notified_at=now)
        if not new and not replies:
            return False
    context = {
        "user": user,
        "workspace": membership.workspace,
        "new": new,
        "replies": replies,
        "site": settings.SITE_URL,
        "every_minutes": max(1, settings.AGENT_EMAIL_EVERY_SECONDS // 60),
    }
    count = len(new) + len(replies)
    subject = f"{count} conversation{'s' if count != 1 else ''} waiting in {membership.workspace.name}"
    try:
        send_mail(
            subject,
            render_to_string("mail/agent_notification.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
            html_message=render_to_string("mail/agent_notification.html", context),
        )
    except Exception:
        logger.exception("could not email %s about %s conversations", user.email, count)
        return False
    return True
