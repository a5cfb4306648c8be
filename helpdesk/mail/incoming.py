"""Mail that comes in (the receiving SMTP server, a workspace's IMAP mailbox, a provider's
inbound webhook): kept whole, then placed.

Placing a mail, in order, never by its subject alone:
  1. a reply address, `reply+<token>@<INBOUND_EMAIL_DOMAIN>`, names its conversation; a token
     of another workspace than the one the mail was sent to (its mailbox, or a workspace
     address beside it) is refused: a spoof;
  2. In-Reply-To, then References, name a mail of a conversation of the workspace;
  3. a workspace's address (or its mailbox) starts a new conversation by email.
What cannot be placed is kept (UNPLACED) and shown to the operators and the workspace's
admins, never dropped. Bounces and our own mail coming back are kept and never posted; an
automatic reply (RFC 3834 Auto-Submitted, Precedence: bulk/junk/list, X-Autoreply) is posted
but never answered automatically, and so is the mail of a sender over
INBOUND_EMAIL_PER_SENDER_PER_HOUR. A reply's quoted history and signature are stripped for the
conversation (mail-parser-reply); the original stays with the InboundEmail.
"""

from __future__ import annotations

import email
import email.policy
import html as html_lib
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import nh3
from django.conf import settings
from django.db import transaction
from mailparser_reply import EmailReplyParser

from helpdesk.conversations import actions, attachments, events
from helpdesk.conversations.models import Attachment, Contact, Conversation
from helpdesk.lib import ratelimit
from helpdesk.mail import addresses
from helpdesk.mail.models import EmailThread, InboundEmail, MailSettings, OutboundEmail
from helpdesk.workspace.models import Workspace

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 50_000
_IDS = re.compile(r"<[^<>\s]{1,245}>")
_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl"]


class TooLarge(Exception):
    """The mail is over INBOUND_EMAIL_MAX_BYTES."""


@dataclass
class Parsed:
    message: EmailMessage
    from_name: str
    from_address: str
    subject: str
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    recipients: list[str]


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name, "")
    except Exception:
        return ""
    return " ".join(str(value).split())


def parse(raw: bytes, envelope_recipients: list[str]) -> Parsed:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(_header(message, "From"))
    headers = [_header(message, h) for h in ("To", "Cc", "Delivered-To", "X-Original-To")]
    recipients = [a.lower() for a in envelope_recipients] + addresses.parse_list(*headers)
    return Parsed(
        message=message,
        from_name=name[:200],
        from_address=address.lower()[:254],
        subject=_header(message, "Subject")[:250],
        message_id=(_IDS.findall(_header(message, "Message-ID")) or [""])[0],
        in_reply_to=_IDS.findall(_header(message, "In-Reply-To")),
        references=_IDS.findall(_header(message, "References")),
        recipients=list(dict.fromkeys(recipients)),
    )


# ---------------------------------------------------------------- loops


def is_bounce(parsed: Parsed, envelope_from: str) -> bool:
    local, _host = addresses.split(parsed.from_address)
    report = parsed.message.get_content_type() == "multipart/report"
    return (
        envelope_from.strip() in ("<>",)
        or local in ("mailer-daemon", "postmaster")
        or report
        or not parsed.from_address
    )


def is_automatic(parsed: Parsed) -> bool:
    """RFC 3834 and the headers auto-responders set in practice."""
    message = parsed.message
    auto = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    return (
        (auto != "" and auto != "no")
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or bool(_header(message, "X-Autoreply") or _header(message, "X-Autorespond"))
        or bool(_header(message, "List-Id"))
        or _header(message, "X-Auto-Response-Suppress").lower() in ("all", "oof", "autoreply")
    )


def is_our_own(parsed: Parsed) -> bool:
    """Our own mail coming back (a loop through a forwarding mailbox)."""
    return bool(parsed.message_id) and OutboundEmail.objects.filter(message_id=parsed.message_id).exists()


# ---------------------------------------------------------------- text


def _html_to_text(markup: str) -> str:
    markup = re.sub(r"(?i)<br\s*/?>", "\n", markup)
    markup = re.sub(r"(?i)</(p|div|li|tr|h[1-6]|blockquote)>", "\n", markup)
    text = html_lib.unescape(nh3.clean(markup, tags=set(), clean_content_tags={"script", "style", "head", "title"}))
    return re.sub(r"\n{3,}", "\n\n", text)


def body_text(message: EmailMessage) -> str:
    """The mail's text: its plain part, or its HTML part as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken part
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = _html_to_text(content)
    return content.replace("\r\n", "\n").replace("\x00", "")


def reply_text(message: EmailMessage) -> str:
    """What the customer wrote in this mail: the quoted history and signature stripped."""
    text = body_text(message)
    try:
        latest = EmailReplyParser(languages=_REPLY_LANGUAGES).parse_reply(text)
    except Exception:
        logger.warning("reply parser failed; the whole text is kept", exc_info=True)
        latest = None
    text = (latest or text).strip()
    return text[:MAX_BODY_CHARS]


def _files(workspace: Workspace, message: EmailMessage) -> tuple[list[Attachment], list[str]]:
    """The mail's attachments stored as the message's files (the types and sizes the widget
    takes), and why each other one was not (it stays in the original)."""
    files: list[Attachment] = []
    not_taken: list[str] = []
    for part in message.iter_attachments():
        name = part.get_filename() or "attachment"
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # a broken part: the original keeps it
            payload = None
        data = payload if isinstance(payload, bytes) else b""
        if len(files) >= settings.ATTACHMENT_MAX_FILES:
            not_taken.append(f"{attachments.clean_name(name)}: more than {settings.ATTACHMENT_MAX_FILES} files")
            continue
        try:
            files.append(attachments.store(workspace.pk, attachments.Incoming(name, data)))
        except attachments.Refused as e:
            not_taken.append(str(e))
    return files, not_taken


# ---------------------------------------------------------------- placing


def _workspace_addressed(recipients: list[str]) -> Workspace | None:
    domain = addresses.domain()
    slugs = [local for local, host in map(addresses.split, recipients) if host == domain and local]
    found = MailSettings.objects.select_related("workspace").filter(slug__in=slugs).first()
    return found.workspace if found else None


def _thread_by_token(recipients: list[str]) -> EmailThread | None:
    domain = addresses.domain()
    for local, host in map(addresses.split, recipients):
        token = addresses.reply_token(local) if host == domain else None
        if token:
            return EmailThread.objects.select_related("conversation__workspace").filter(token=token).first()
    return None


def _has_token(recipients: list[str]) -> bool:
    domain = addresses.domain()
    return any(addresses.reply_token(local) and host == domain for local, host in map(addresses.split, recipients))


def _conversation_by_headers(workspace: Workspace, ids: list[str]) -> Conversation | None:
    if not ids:
        return None
    out = (
        OutboundEmail.objects.filter(workspace=workspace, message_id__in=ids)
        .order_by("-created_at")
        .values_list("conversation_id", flat=True)
        .first()
    )
    if out is None:
        out = (
            InboundEmail.objects.filter(
                workspace=workspace,
                message_id_header__in=ids,
                status=InboundEmail.Status.PLACED,
                conversation__isnull=False,
            )
            .order_by("-received_at")
            .values_list("conversation_id", flat=True)
            .first()
        )
    return Conversation.objects.filter(pk=out).first() if out else None


def _contact_for(workspace: Workspace, parsed: Parsed) -> Contact:
    """The sender's contact: one whose address is proven, else the email-only contact of that
    address (an address typed into a widget proves nothing, so a widget contact is never
    given a stranger's mail), else a new one."""
    address = parsed.from_address
    found = (
        Contact.objects.filter(workspace=workspace, email__iexact=address, email_verified=True)
        .order_by("-created_at")
        .first()
        or Contact.objects.filter(workspace=workspace, email__iexact=address, visitors__isnull=True, external_id=None)
        .order_by("-created_at")
        .first()
    )
    if found is not None:
        return found
    return Contact.objects.create(workspace=workspace, email=address, name=parsed.from_name)


def receive(
    raw: bytes,
    *,
    source: str,
    envelope_from: str = "",
    recipients: list[str] | None = None,
    workspace: Workspace | None = None,
    **record_fields: Any,
) -> InboundEmail:
    """Keep the mail, then place it (see above). `workspace` is the mailbox's, for mail
    fetched from a workspace's own mailbox. Raises TooLarge before keeping anything over
    INBOUND_EMAIL_MAX_BYTES (the SMTP server refuses those first)."""
    if len(raw) > settings.INBOUND_EMAIL_MAX_BYTES:
        raise TooLarge(len(raw))
    parsed = parse(raw, recipients or [])
    record = InboundEmail(
        source=source,
        envelope_from=envelope_from[:254],
        recipients=" ".join(parsed.recipients)[:5000],
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        subject=parsed.subject,
        message_id_header=parsed.message_id[:250],
        in_reply_to=" ".join(parsed.in_reply_to)[:250],
        references=" ".join(parsed.references)[:5000],
        raw=raw,
        size=len(raw),
        **record_fields,
    )
    with transaction.atomic():
        _place(record, parsed, envelope_from, workspace)
        record.save()
    logger.info(
        "mail %s from %s: %s%s",
        record.pk,
        record.from_address,
        record.status,
        f" ({record.reason})" if record.reason else "",
    )
    return record


def keep_refused(
    raw: bytes, source: str, recipients: list[str], *, size: int | None = None, **record_fields
) -> InboundEmail:
    """A mail over INBOUND_EMAIL_MAX_BYTES that a provider delivered all the same: kept as
    refused, with its headers (and the start of its body) for the admins to see."""
    head = raw[:65536]
    try:
        parsed = parse(head, recipients)
        details = {"from_address": parsed.from_address, "from_name": parsed.from_name, "subject": parsed.subject}
    except Exception:
        details = {}
    size = len(raw) if size is None else size
    record_fields.setdefault("workspace", _workspace_addressed([r.lower() for r in recipients]))
    record = InboundEmail.objects.create(
        source=source,
        recipients=" ".join(recipients)[:5000],
        raw=head,
        size=size,
        status=InboundEmail.Status.REFUSED,
        reason=f"larger than INBOUND_EMAIL_MAX_BYTES ({size} bytes); only its start is kept",
        **details,
        **record_fields,
    )
    logger.warning("mail %s refused: %s bytes", record.pk, size)
    return record


def _place(record: InboundEmail, parsed: Parsed, envelope_from: str, mailbox: Workspace | None) -> None:
    def keep(status: str, reason: str, workspace: Workspace | None = None) -> None:
        record.status, record.reason, record.workspace = status, reason[:300], workspace

    addressed = mailbox or _workspace_addressed(parsed.recipients)
    if is_our_own(parsed):
        return keep(InboundEmail.Status.AUTOMATIC, "our own mail came back (a loop)", addressed)
    if is_bounce(parsed, envelope_from):
        return keep(InboundEmail.Status.AUTOMATIC, "a bounce or delivery report", addressed)

    thread = _thread_by_token(parsed.recipients)
    conversation: Conversation | None = None
    if thread is not None:
        conversation = thread.conversation
        if addressed is not None and conversation.workspace_id != addressed.pk:
            return keep(InboundEmail.Status.REFUSED, "a reply address of another workspace", addressed)
    elif _has_token(parsed.recipients):
        return keep(InboundEmail.Status.UNPLACED, "a reply address that matches no conversation", addressed)
    workspace = conversation.workspace if conversation is not None else addressed
    if workspace is None:
        return keep(InboundEmail.Status.UNPLACED, "addressed to no workspace")
    if conversation is None:
        conversation = _conversation_by_headers(workspace, parsed.in_reply_to) or _conversation_by_headers(
            workspace, parsed.references
        )

    automatic = is_automatic(parsed)
    within_rate = ratelimit.hit_within(
        "mail-from", parsed.from_address, settings.INBOUND_EMAIL_PER_SENDER_PER_HOUR, 3600
    )
    text = reply_text(parsed.message)
    files, not_taken = _files(workspace, parsed.message)
    if not_taken:
        note = "\n".join(f"Not attached (kept with the original email): {why}" for why in not_taken)
        text = (text + "\n\n" if text else "") + note
    if not text and not files:
        text = "(an email with no text)"
    if conversation is not None:
        contact = conversation.contact
        if contact.email and contact.email.lower() == parsed.from_address and not contact.email_verified:
            # The visitor answered an email sent to the address they typed: it is theirs.
            contact.email_verified = True
            contact.save(update_fields=["email_verified"])
            events.contact_changed(contact)
    else:
        contact = _contact_for(workspace, parsed)
    message = actions.post_customer_email(
        contact, text, conversation=conversation, answer=not automatic and within_rate, files=files
    )
    if conversation is None:
        EmailThread.objects.create(conversation=message.conversation, subject=parsed.subject)
    record.conversation = message.conversation
    record.message = message
    reason = (
        "an automatic reply: not answered"
        if automatic
        else ("" if within_rate else "sender over its rate: not answered")
    )
    keep(InboundEmail.Status.PLACED, reason, workspace)
