"""Workspaces' own mailboxes over IMAP (imap-tools over imaplib), through the outbound guard.

`fetch_new(mailbox)` takes what arrived in the folder since the last time, oldest first, each
message once: a message's InboundEmail and the mailbox's `last_uid` are committed together,
so a worker that dies mid-fetch leaves the message for the next fetch (BODY.PEEK: its \\Seen
flag is untouched), and one that dies after the commit never takes it twice (and the
(mailbox, UIDVALIDITY, UID) constraint would refuse it). A new mailbox starts from the mail
that arrives after it is connected; if the server renumbers the folder (a new UIDVALIDITY),
everything in it is looked at again and what was taken already (by Message-ID) is skipped.

`watch_forever()` runs in each worker process: every mailbox is watched by exactly one
worker (a PostgreSQL advisory lock, released if its worker dies), which fetches, then waits
in IDLE where the server has it (else polls every IMAP_POLL_SECONDS), and reconnects with a
back-off after an error, which the settings page shows.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
import threading
from typing import Any

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.mailbox import BaseMailBox

from helpdesk.lib import outbound
from helpdesk.mail import incoming
from helpdesk.mail.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)

TIMEOUT = 30
BATCH = 100
LOCK_CLASS = 0x6D61  # "ma": the advisory lock space of mailboxes


class _GuardedIMAP4(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return outbound.create_connection(self.host, self.port, timeout)


class _GuardedIMAP4_SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout):
        sock = outbound.create_connection(self.host, self.port, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class _SSL(MailBox):
    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return _GuardedIMAP4_SSL(self._host, self._port, ssl_context=self._ssl_context, timeout=self._timeout)


class _StartTls(MailBoxStartTls):
    def _get_mailbox_client(self) -> imaplib.IMAP4:
        client = _GuardedIMAP4(self._host, self._port, timeout=self._timeout)
        client.starttls(self._ssl_context)
        return client


class _Plain(MailBoxUnencrypted):
    def _get_mailbox_client(self) -> imaplib.IMAP4:
        return _GuardedIMAP4(self._host, self._port, timeout=self._timeout)


def ssl_context() -> ssl.SSLContext:
    """Certificates are checked against the system's CAs, or IMAP_CA_FILE's (a private CA)."""
    return ssl.create_default_context(cafile=settings.IMAP_CA_FILE or None)


def connect(mailbox: Mailbox) -> BaseMailBox:
    """Logged in, the folder selected. Raises OSError (refused by the guard, unreachable),
    imaplib errors, or imap_tools' errors (a wrong password, a missing folder)."""
    box: BaseMailBox
    if mailbox.security == Mailbox.Security.SSL:
        box = _SSL(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=ssl_context())
    elif mailbox.security == Mailbox.Security.STARTTLS:
        box = _StartTls(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=ssl_context())
    else:
        box = _Plain(mailbox.host, mailbox.port, timeout=TIMEOUT)
    box.login(mailbox.username, mailbox.password, initial_folder=mailbox.folder)
    return box


def describe_error(error: Exception) -> str:
    """A connection error as an admin reads it."""
    text = str(error)
    if "AUTHENTICATIONFAILED" in text or "Authentication failed" in text:
        return "the server refused the user name or password."
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"the server's certificate could not be verified ({error.verify_message})."
    if isinstance(error, TimeoutError):
        return "the server did not answer in time."
    return f"{type(error).__name__}: {text}"[:300]


def _uids_after(box: BaseMailBox, last_uid: int) -> list[int]:
    typ, data = box.client.uid("SEARCH", f"UID {last_uid + 1}:*")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
    found = [int(u) for u in (data[0] or b"").split()]
    return sorted(u for u in found if u > last_uid)  # "n:*" names the last message even below n


def _fetch(box: BaseMailBox, uid: int, what: str) -> tuple[bytes, bytes]:
    typ, data = box.client.uid("FETCH", str(uid), what)
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        raise imaplib.IMAP4.error(f"UID FETCH {uid} failed: {typ} {data!r}")
    return data[0][0], data[0][1]


def fetch_new(mailbox: Mailbox, box: BaseMailBox | None = None) -> int:
    """Take what arrived since the last fetch (see above); how many messages were taken."""
    own = box is None
    box = box or connect(mailbox)
    try:
        status = box.folder.status(mailbox.folder, ["UIDVALIDITY", "UIDNEXT"])
        validity, uid_next = int(status["UIDVALIDITY"]), int(status["UIDNEXT"])
        if mailbox.uid_validity is None:  # a new mailbox: from what arrives from now on
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=validity, last_uid=uid_next - 1)
            mailbox.uid_validity, mailbox.last_uid = validity, uid_next - 1
            return 0
        renumbered = validity != mailbox.uid_validity
        if renumbered:
            logger.warning("mailbox %s: UIDVALIDITY changed; looking at the whole folder again", mailbox.pk)
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=validity, last_uid=0)
            mailbox.uid_validity, mailbox.last_uid = validity, 0
        taken = 0
        for uid in _uids_after(box, mailbox.last_uid)[:BATCH]:
            _take(mailbox, box, uid, check_duplicate=renumbered)
            mailbox.last_uid = uid
            taken += 1
        Mailbox.objects.filter(pk=mailbox.pk).update(last_checked_at=timezone.now(), last_error="")
        return taken
    finally:
        if own:
            box.logout()


def _take(mailbox: Mailbox, box: BaseMailBox, uid: int, *, check_duplicate: bool) -> None:
    meta = _fetch_meta(box, uid)
    size = int(meta.split(b"RFC822.SIZE", 1)[1].split(b")", 1)[0].strip()) if b"RFC822.SIZE" in meta else 0
    record_fields: dict[str, Any] = {"mailbox": mailbox, "imap_uid_validity": mailbox.uid_validity, "imap_uid": uid}
    recipients = [mailbox.email_address]
    with transaction.atomic():
        if size > settings.INBOUND_EMAIL_MAX_BYTES:
            _meta, head = _fetch(box, uid, "(BODY.PEEK[HEADER])")
            incoming.keep_refused(
                head, InboundEmail.Source.IMAP, recipients, size=size, workspace=mailbox.workspace, **record_fields
            )
        else:
            _meta, raw = _fetch(box, uid, "(BODY.PEEK[])")
            if not (check_duplicate and _taken_before(mailbox, raw)):
                incoming.receive(
                    raw,
                    source=InboundEmail.Source.IMAP,
                    recipients=recipients,
                    workspace=mailbox.workspace,
                    **record_fields,
                )
        Mailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid)


def _fetch_meta(box: BaseMailBox, uid: int) -> bytes:
    """The FETCH response line for RFC822.SIZE (no literal follows it)."""
    typ, data = box.client.uid("FETCH", str(uid), "(RFC822.SIZE)")
    if typ != "OK" or not data or data[0] is None:
        raise imaplib.IMAP4.error(f"UID FETCH {uid} RFC822.SIZE failed: {typ} {data!r}")
    first = data[0]
    return first[0] if isinstance(first, tuple) else first


def _taken_before(mailbox: Mailbox, raw: bytes) -> bool:
    message_id = incoming.parse(raw, []).message_id
    return bool(message_id) and InboundEmail.objects.filter(mailbox=mailbox, message_id_header=message_id).exists()


# ---------------------------------------------------------------- watching, in the worker


def _lock_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=True)


class Watcher(threading.Thread):
    """One mailbox, in one worker process, while it holds the mailbox's advisory lock."""

    def __init__(self, mailbox_id: int, stopping: threading.Event):
        super().__init__(name=f"mailbox-{mailbox_id}", daemon=True)
        self.mailbox_id = mailbox_id
        self.stopping = stopping

    def run(self) -> None:
        try:
            lock = _lock_connection()
        except Exception:
            logger.exception("mailbox %s: no connection for its lock", self.mailbox_id)
            return
        try:
            row = lock.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, self.mailbox_id]).fetchone()
            if not row or not row[0]:
                return  # another worker watches it
            self._watch()
        finally:
            lock.close()  # the lock goes with it
            connections.close_all()

    def _current(self) -> Mailbox | None:
        close_old_connections()
        return Mailbox.objects.select_related("workspace").filter(pk=self.mailbox_id, enabled=True).first()

    def _watch(self) -> None:
        failures = 0
        mailbox = self._current()
        while mailbox is not None and not self.stopping.is_set():
            version = mailbox.updated_at
            try:
                box = connect(mailbox)
                try:
                    failures = 0
                    while not self.stopping.is_set():
                        fetch_new(mailbox, box)
                        current = self._current()
                        if current is None or current.updated_at != version:
                            break  # changed or switched off: start again with the new settings
                        mailbox = current
                        if "IDLE" in box.client.capabilities:
                            box.idle.wait(timeout=settings.IMAP_IDLE_SECONDS)
                        else:
                            self.stopping.wait(settings.IMAP_POLL_SECONDS)
                finally:
                    try:
                        box.logout()
                    except Exception:
                        pass
            except Exception as e:
                failures += 1
                error = describe_error(e)
                logger.warning("mailbox %s: %s", self.mailbox_id, error)
                Mailbox.objects.filter(pk=self.mailbox_id).update(last_error=error)
                self.stopping.wait(min(300, 5 * 2 ** min(failures, 6)))
            mailbox = self._current()


def watch_forever(stopping: threading.Event) -> None:
    """Start a watcher for each enabled mailbox this process does not watch yet, every
    MAIL_SCAN_SECONDS (a mailbox another worker watches is left to it)."""
    watchers: dict[int, Watcher] = {}
    while not stopping.is_set():
        try:
            close_old_connections()
            for mailbox_id in Mailbox.objects.filter(enabled=True).values_list("pk", flat=True):
                watcher = watchers.get(mailbox_id)
                if watcher is None or not watcher.is_alive():
                    watchers[mailbox_id] = Watcher(mailbox_id, stopping)
                    watchers[mailbox_id].start()
        except Exception:
            logger.exception("mailbox scan failed")
        finally:
            connections.close_all()
        stopping.wait(settings.MAIL_SCAN_SECONDS)
