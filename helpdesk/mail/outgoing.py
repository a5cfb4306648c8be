"""Email to customers: a reply in an email conversation at once, and in the widget, what the
team wrote that the visitor has not seen within CONTINUITY_EMAIL_DELAY_SECONDS.

A team message (helpdesk.conversations.hooks.on_team_message, see triggers.py) enqueues
`tasks.send_email`, now or after the delay. The task prepares one email of every message not sent yet (several
that came together go as one), records it (OutboundEmail, with its Message-ID for threading)
and moves the thread's mark in one transaction, then sends it; a failed send is retried with
the very same email, so a reader never gets two of one message, nor none.
"""

from __future__ import annotations

import logging
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from helpdesk.conversations import attachments
from helpdesk.conversations.models import Attachment, Conversation, Message
from helpdesk.lib import outbound, ratelimit
from helpdesk.mail import addresses
from helpdesk.mail.models import EmailThread, InboundEmail, OutboundEmail, ensure_settings
from helpdesk.widget import options as widget_options
from helpdesk.widget import resume

logger = logging.getLogger(__name__)

TEAM = (Message.Author.AGENT, Message.Author.AI, Message.Author.SYSTEM)
PEOPLE_AND_AI = (Message.Author.AGENT, Message.Author.AI)
MAX_ATTEMPTS = 5


def by_email(conversation: Conversation) -> bool:
    """Is the customer answered by email now: an email conversation, or a widget conversation
    whose customer last wrote by email."""
    if conversation.channel == Conversation.Channel.EMAIL:
        return True
    last = (
        conversation.messages.filter(author_kind=Message.Author.CUSTOMER)
        .order_by("-id")
        .values_list("via", flat=True)
        .first()
    )
    return last == Conversation.Channel.EMAIL


def thread_for(conversation: Conversation, subject: str = "") -> EmailThread:
    thread, _ = EmailThread.objects.get_or_create(conversation=conversation, defaults={"subject": subject[:250]})
    return thread


def _subject(conversation: Conversation, thread: EmailThread) -> str:
    if thread.subject:
        subject = thread.subject
        return subject if subject.lower().startswith("re:") else f"Re: {subject}"
    return f"Your conversation with {conversation.workspace.name}"


def _header_ids(conversation: Conversation) -> list[str]:
    """The Message-IDs of the conversation's mail so far, oldest first (for References)."""
    found = list(
        InboundEmail.objects.filter(conversation=conversation, status=InboundEmail.Status.PLACED)
        .exclude(message_id_header="")
        .values_list("received_at", "message_id_header")
    ) + list(OutboundEmail.objects.filter(conversation=conversation).values_list("created_at", "message_id"))
    return [mid for _at, mid in sorted(found)][-20:]


def _last_inbound_id(conversation: Conversation) -> str:
    return (
        InboundEmail.objects.filter(conversation=conversation, status=InboundEmail.Status.PLACED)
        .exclude(message_id_header="")
        .order_by("-received_at")
        .values_list("message_id_header", flat=True)
        .first()
        or ""
    )


def page_answers(url: str) -> bool:
    """Does the page still answer (2xx or 3xx)? Asked by the worker, through the outbound guard."""
    try:
        with outbound.http_client(timeout=5, follow_redirects=False) as client, client.stream("GET", url) as response:
            return response.status_code < 400  # the status alone: the page's body is never read
    except Exception:
        return False


def resume_link(conversation: Conversation) -> str:
    code = resume.make_code(conversation)
    page = resume.linkable_page(conversation.workspace, conversation.page_url)
    if page and page_answers(page):
        return resume.page_url_with_code(page, code)
    return resume.hosted_url(code)


def _unsent(conversation: Conversation, thread: EmailThread, kind: str) -> list[Message]:
    floor = thread.emailed_up_to
    if kind == OutboundEmail.Kind.CONTINUITY:
        floor = max(floor, conversation.customer_seen_id or 0)
    new = list(
        conversation.messages.filter(pk__gt=floor, private=False, author_kind__in=TEAM)
        .select_related("author")
        .order_by("id")
    )
    if kind == OutboundEmail.Kind.CONTINUITY and not any(m.author_kind in PEOPLE_AND_AI for m in new):
        return []  # only the system's words (a handover note): not worth an email alone
    return new


def prepare(conversation_id: int, kind: str) -> OutboundEmail | None:
    """Record the email of the conversation's team messages not sent yet (and, for
    continuity, not seen in the widget), or None when there is nothing to send.

    The link back is made first, outside the transaction: it may ask the visitor's page
    whether it still answers, which must not hold the conversation's lock."""
    conversation = Conversation.objects.select_related("contact", "workspace").filter(pk=conversation_id).first()
    if conversation is None or not conversation.contact.email:
        return None
    if not _unsent(conversation, thread_for(conversation), kind):
        return None
    link = resume_link(conversation) if conversation.channel == Conversation.Channel.WIDGET else ""
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("contact", "workspace")
            .get(pk=conversation_id)
        )
        thread = EmailThread.objects.select_for_update().get(conversation=conversation)
        new = _unsent(conversation, thread, kind)
        to = conversation.contact.email
        if not new or not to:
            return None
        automatic = all(m.author_kind != Message.Author.AGENT for m in new)
        if automatic and not ratelimit.hit_within(
            "mail-auto-to", to.lower(), settings.MAIL_AUTOMATIC_REPLIES_PER_HOUR, 3600
        ):
            thread.emailed_up_to = new[-1].pk  # not sent, and never later: it was an automatic reply
            thread.save(update_fields=["emailed_up_to"])
            logger.warning("no automatic reply to %s: over MAIL_AUTOMATIC_REPLIES_PER_HOUR", to)
            return None
        workspace = conversation.workspace
        support = addresses.support_address(ensure_settings(workspace))
        agents = [m.author.display_name for m in new if m.author_kind == Message.Author.AGENT and m.author]
        sender = agents[-1] if agents else ""
        company = workspace.widget_company_name or workspace.name
        color = workspace.widget_primary_color
        context = {
            "workspace": workspace,
            "messages": new,
            "link": link,
            "color": color,
            "text_on_color": widget_options.text_color_on(color),
            "company": company,
            "expires_days": settings.RESUME_LINK_MAX_AGE_DAYS,
            # An address typed into the chat may be someone else's: the email says how it came.
            "unverified": kind == OutboundEmail.Kind.CONTINUITY and not conversation.contact.email_verified,
        }
        previous = _header_ids(conversation)
        files = [f for m in new for f in attachments.of_message(m)]
        email = OutboundEmail.objects.create(
            workspace=workspace,
            conversation=conversation,
            message_id=make_msgid(idstring=f"c{conversation.pk}", domain=addresses.domain()),
            to=to,
            subject=_subject(conversation, thread)[:250],
            messages=[m.pk for m in new],
            files=_attachable(files),
            kind=kind,
            from_header=formataddr(
                (f"{sender} ({company})" if sender else company, settings.OUTBOUND_EMAIL_FROM or support)
            ),
            reply_to=addresses.reply_address(thread),
            in_reply_to=_last_inbound_id(conversation) or (previous[-1] if previous else ""),
            references=" ".join(previous),
            automatic=automatic,
            text=render_to_string("mail/reply.txt", context),
            html=render_to_string("mail/reply.html", context),
        )
        thread.emailed_up_to = new[-1].pk
        thread.save(update_fields=["emailed_up_to"])
    return email


def _attachable(files: list[Attachment]) -> list[int]:
    """The files to attach, in order, up to EMAIL_ATTACHMENTS_MAX_BYTES in all (the others are
    named in the email and downloaded from the conversation)."""
    chosen, total = [], 0
    for f in files:
        if total + f.size > settings.EMAIL_ATTACHMENTS_MAX_BYTES:
            continue
        chosen.append(f.pk)
        total += f.size
    return chosen


def deliver(email_id: int) -> bool:
    """Send a recorded email (once: a sent one is left alone). False when the send failed."""
    email = OutboundEmail.objects.filter(pk=email_id).first()
    if email is None or email.sent_at is not None:
        return True
    headers = {"Message-ID": email.message_id}
    if email.in_reply_to:
        headers["In-Reply-To"] = email.in_reply_to
    if email.references:
        headers["References"] = email.references
    if email.automatic:
        # RFC 3834: an automatic reply, which other systems must not answer automatically.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.text,
        from_email=email.from_header,
        to=[email.to],
        reply_to=[email.reply_to],
        headers=headers,
    )
    message.attach_alternative(email.html, "text/html")
    for attachment in Attachment.objects.filter(pk__in=email.files).order_by("id"):
        with attachment.file.open("rb") as stored:
            message.attach(attachment.name, stored.read(), attachment.content_type)
    try:
        message.send()
    except Exception as e:
        email.attempts += 1
        email.error = f"{type(e).__name__}: {e}"[:500]
        email.save(update_fields=["attempts", "error"])
        logger.warning("email %s to %s not sent (attempt %s): %s", email.pk, email.to, email.attempts, email.error)
        return False
    email.sent_at = timezone.now()
    email.error = ""
    email.save(update_fields=["sent_at", "error"])
    return True


def attempts(email_id: int) -> int:
    return OutboundEmail.objects.filter(pk=email_id).values_list("attempts", flat=True).first() or 0
