"""A workspace's own mailbox, against a real IMAP server (dovecot): each message taken once,
oldest first, never lost when the fetch dies halfway, through TLS with the server's CA, and
through the outbound guard; watched live (IDLE) by exactly one of several real workers."""

from __future__ import annotations

import ssl

import pytest
from imap_tools.errors import MailboxLoginError

from helpdesk.conversations.models import Conversation
from helpdesk.lib import outbound
from helpdesk.mail import imap, incoming
from helpdesk.mail.models import InboundEmail, Mailbox
from tests.mail.conftest import make_mail
from tests.processes import Stack, stack_env
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def imap_allowed(settings, dovecot):
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{dovecot.port}", f"127.0.0.1:{dovecot.ssl_port}"]
    settings.IMAP_CA_FILE = str(dovecot.ca_file)


def make_mailbox(workspace, dovecot, security=Mailbox.Security.NONE, port=None, **fields) -> tuple[Mailbox, tuple]:
    user, password = dovecot.add_user()
    mailbox = Mailbox(
        workspace=workspace,
        email_address="support@acme.test",
        host="127.0.0.1",
        port=port or dovecot.port,
        security=security,
        username=user,
        **fields,
    )
    mailbox.password = password
    mailbox.save()
    return mailbox, (user, password)


def fresh(mailbox: Mailbox) -> Mailbox:
    return Mailbox.objects.select_related("workspace").get(pk=mailbox.pk)


def test_a_new_mailbox_takes_what_arrives_after_it_is_connected(workspace, dovecot, imap_allowed):
    mailbox, login = make_mailbox(workspace, dovecot)
    dovecot.deliver(*login, make_mail(subject="Old mail, before the helpdesk"))
    assert imap.fetch_new(fresh(mailbox)) == 0
    dovecot.deliver(*login, make_mail(subject="A new question"))
    assert imap.fetch_new(fresh(mailbox)) == 1
    record = InboundEmail.objects.get()
    assert (record.source, record.status, record.workspace) == ("imap", InboundEmail.Status.PLACED, workspace)
    assert record.subject == "A new question" and record.conversation.channel == Conversation.Channel.EMAIL
    assert record.imap_uid == 2 and fresh(mailbox).last_uid == 2 and fresh(mailbox).last_error == ""


def test_each_message_is_taken_once_and_left_unread(workspace, dovecot, imap_allowed):
    mailbox, login = make_mailbox(workspace, dovecot)
    imap.fetch_new(fresh(mailbox))
    dovecot.deliver(*login, make_mail(subject="First"))
    dovecot.deliver(*login, make_mail(subject="Second"))
    assert imap.fetch_new(fresh(mailbox)) == 2
    assert imap.fetch_new(fresh(mailbox)) == 0
    assert list(InboundEmail.objects.order_by("imap_uid").values_list("subject", flat=True)) == ["First", "Second"]
    client = dovecot.client(*login)
    client.select("INBOX")
    typ, flags = client.uid("FETCH", "1:*", "(FLAGS)")
    client.logout()
    assert typ == "OK" and not any(b"\\Seen" in line for line in flags)


def test_a_fetch_that_dies_halfway_loses_nothing_and_takes_nothing_twice(workspace, dovecot, imap_allowed, monkeypatch):
    mailbox, login = make_mailbox(workspace, dovecot)
    imap.fetch_new(fresh(mailbox))
    for n in range(3):
        dovecot.deliver(*login, make_mail(subject=f"Mail {n}"))
    real = incoming.receive
    calls = []

    def dies_on_the_second(raw, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("the worker is killed")  # not an Exception: nothing catches it
        return real(raw, **kwargs)

    monkeypatch.setattr(incoming, "receive", dies_on_the_second)
    with pytest.raises(SystemExit):
        imap.fetch_new(fresh(mailbox))
    assert list(InboundEmail.objects.values_list("subject", flat=True)) == ["Mail 0"]
    assert fresh(mailbox).last_uid == 1  # the one that was stored, with its record

    monkeypatch.setattr(incoming, "receive", real)
    assert imap.fetch_new(fresh(mailbox)) == 2
    assert sorted(InboundEmail.objects.values_list("subject", flat=True)) == ["Mail 0", "Mail 1", "Mail 2"]


def test_a_renumbered_folder_is_looked_at_again_without_taking_mail_twice(workspace, dovecot, imap_allowed):
    mailbox, login = make_mailbox(workspace, dovecot)
    imap.fetch_new(fresh(mailbox))
    dovecot.deliver(*login, make_mail(subject="Taken"))
    imap.fetch_new(fresh(mailbox))
    dovecot.deliver(*login, make_mail(subject="Not yet"))
    Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=1)  # as if the server renumbered the folder
    assert imap.fetch_new(fresh(mailbox)) == 2  # both looked at; the one taken before is skipped
    assert sorted(InboundEmail.objects.values_list("subject", flat=True)) == ["Not yet", "Taken"]


def test_an_oversized_mail_is_kept_as_refused_with_its_headers(workspace, dovecot, imap_allowed, settings):
    mailbox, login = make_mailbox(workspace, dovecot)
    imap.fetch_new(fresh(mailbox))
    settings.INBOUND_EMAIL_MAX_BYTES = 10 * 1024
    dovecot.deliver(*login, make_mail(subject="Huge", text=("y" * 70 + "\n") * 400))
    dovecot.deliver(*login, make_mail(subject="Small"))
    assert imap.fetch_new(fresh(mailbox)) == 2
    huge = InboundEmail.objects.get(subject="Huge")
    assert huge.status == InboundEmail.Status.REFUSED and huge.size > 10 * 1024 and huge.workspace == workspace
    assert InboundEmail.objects.get(subject="Small").status == InboundEmail.Status.PLACED


@pytest.mark.parametrize("security", [Mailbox.Security.SSL, Mailbox.Security.STARTTLS])
def test_tls_checks_the_servers_certificate(workspace, dovecot, imap_allowed, settings, security):
    port = dovecot.ssl_port if security == Mailbox.Security.SSL else dovecot.port
    mailbox, login = make_mailbox(workspace, dovecot, security=security, port=port)
    imap.fetch_new(fresh(mailbox))
    dovecot.deliver(*login, make_mail(subject="Over TLS"))
    assert imap.fetch_new(fresh(mailbox)) == 1
    settings.IMAP_CA_FILE = ""  # the system's CAs do not know the test CA
    with pytest.raises(ssl.SSLCertVerificationError):
        imap.fetch_new(fresh(mailbox))


def test_a_private_server_is_refused_unless_the_operator_allows_it(workspace, dovecot, settings):
    mailbox, _login = make_mailbox(workspace, dovecot)
    settings.OUTBOUND_PRIVATE_HOSTS = []
    with pytest.raises(outbound.Refused):
        imap.fetch_new(fresh(mailbox))


def test_a_wrong_password_is_an_error(workspace, dovecot, imap_allowed):
    mailbox, _login = make_mailbox(workspace, dovecot)
    mailbox.password = "wrong"
    mailbox.save()
    with pytest.raises(MailboxLoginError, match=r"AUTHENTICATIONFAILED"):
        imap.fetch_new(fresh(mailbox))
    assert not InboundEmail.objects.exists()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_two_workers_watch_a_mailbox_live_and_take_each_mail_once(workspace, dovecot, tmp_path):
    mailbox, login = make_mailbox(workspace, dovecot)
    env = stack_env() | {
        "OUTBOUND_PRIVATE_HOSTS": f"127.0.0.1:{dovecot.port}",
        "MAIL_SCAN_SECONDS": "1",
        "IMAP_IDLE_SECONDS": "60",  # a mail arrives during IDLE: taken at once, not after a minute
    }
    stack = Stack(env)
    try:
        stack.start_worker(tmp_path)
        stack.start_worker(tmp_path)
        wait_for(lambda: fresh(mailbox).uid_validity is not None, 30, message=stack.output)  # connected
        for n in range(3):
            dovecot.deliver(*login, make_mail(subject=f"Live {n}"))
        wait_for(lambda: InboundEmail.objects.count() == 3, 30, message=stack.output)
        assert sorted(InboundEmail.objects.values_list("imap_uid", flat=True)) == [1, 2, 3]
        assert fresh(mailbox).last_error == ""
    finally:
        stack.stop()
