"""The receiving SMTP server (aiosmtpd): mail for `<slug>@` and `reply+<token>@`
INBOUND_EMAIL_DOMAIN, handed to helpdesk.mail.incoming.

Refusals are the SMTP codes a sending server turns into a clear bounce: another domain is not
relayed (550 5.7.1), an unknown address is 550 5.1.1, a mail over INBOUND_EMAIL_MAX_BYTES is
552 5.3.4 (advertised in EHLO as SIZE, so most senders never send it), too many recipients
452 4.5.3. A mail is acknowledged (250) only once it is stored; if storing fails (the database
is down), the answer is 451 and the sender tries again later: never lost.
"""

from __future__ import annotations

import logging

from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

from helpdesk.mail import addresses, incoming
from helpdesk.mail.models import EmailThread, InboundEmail, MailSettings

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 50


def address_exists(address: str) -> bool:
    local, host = addresses.split(address)
    if host != addresses.domain():
        return False
    token = addresses.reply_token(local)
    if token:
        return EmailThread.objects.filter(token=token).exists()
    return MailSettings.objects.filter(slug=local).exists()


def _in_thread(fn, *args):
    """Run `fn` in a thread of the executor's pool with a connection of the pool, given back
    at the end: mails are stored side by side (their waits on the database overlap), not one
    after another in one thread."""
    try:
        close_old_connections()
        return fn(*args)
    finally:
        connections.close_all()


def _store(raw: bytes, envelope_from: str, recipients: list[str]) -> InboundEmail:
    return incoming.receive(raw, source=InboundEmail.Source.SMTP, envelope_from=envelope_from, recipients=recipients)


class Handler:
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options):
        _local, host = addresses.split(address)
        if host != addresses.domain():
            return "550 5.7.1 Relaying denied: this server takes mail for its own addresses only"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            exists = await sync_to_async(_in_thread, thread_sensitive=False)(address_exists, address)
        except Exception:  # the database is down: the sender tries again
            logger.exception("could not look up %s", address)
            return "451 4.3.0 Temporary failure, please try again later"
        if not exists:
            return "550 5.1.1 No such address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            record = await sync_to_async(_in_thread, thread_sensitive=False)(
                _store, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except incoming.TooLarge:
            return "552 5.3.4 Message too big for this server"
        except Exception:
            logger.exception("could not store a mail from %s", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return f"250 2.0.0 Accepted as {record.pk}"


def make_server() -> SMTP:
    return SMTP(
        Handler(),
        data_size_limit=settings.INBOUND_EMAIL_MAX_BYTES,
        enable_SMTPUTF8=True,
        hostname=addresses.domain(),
        ident="helpdesk inbound",
        timeout=60,
    )
