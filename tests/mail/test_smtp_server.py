"""The receiving SMTP server as the Procfile runs it (`manage.py inbound_smtp`, a real process
on the test database), spoken to over real SMTP: what it takes, what it refuses and how, and
that it acknowledges a mail only once it is stored."""

from __future__ import annotations

import smtplib

import pytest

from helpdesk.conversations.models import Conversation
from helpdesk.mail.models import EmailThread, InboundEmail
from tests.mail.conftest import make_mail
from tests.processes import SocketProxy, Stack, postgres_socket, proxied_database_url, stack_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


@pytest.fixture
def mail_server(tmp_path):
    stack = Stack(stack_env() | {"INBOUND_EMAIL_MAX_BYTES": str(64 * 1024)})
    port = stack.start_mail(tmp_path)
    yield port
    stack.stop()


def client(port: int) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", port, timeout=10)


def test_a_mail_to_a_workspace_is_stored_then_acknowledged(workspace, mail_server):
    with client(mail_server) as smtp:
        code, _ = smtp.ehlo("sender.example.org")
        assert code == 250 and smtp.has_extn("size") and smtp.esmtp_features["size"] == str(64 * 1024)
        refused = smtp.sendmail("carol@example.org", ["acme@mail.localhost"], make_mail())
    assert refused == {}
    # 250 was said after the row was committed: it is there at once.
    record = InboundEmail.objects.get()
    assert record.status == InboundEmail.Status.PLACED and record.source == InboundEmail.Source.SMTP
    assert record.envelope_from == "carol@example.org"
    assert record.conversation.channel == Conversation.Channel.EMAIL


def test_a_reply_address_reaches_its_conversation(workspace, mail_server):
    with client(mail_server) as smtp:
        smtp.sendmail("carol@example.org", ["acme@mail.localhost"], make_mail())
        conversation = InboundEmail.objects.get().conversation
        token = EmailThread.objects.get(conversation=conversation).token
        smtp.sendmail("carol@example.org", [f"reply+{token}@mail.localhost"], make_mail(text="Any news?"))
    assert conversation.messages.latest("id").body == "Any news?"


@pytest.mark.parametrize(
    "rcpt, code, text",
    [
        ("someone@elsewhere.example", 550, b"5.7.1 Relaying denied"),
        ("nobody@mail.localhost", 550, b"5.1.1 No such address"),
        ("reply+" + "0" * 24 + "@mail.localhost", 550, b"5.1.1 No such address"),
    ],
)
def test_addresses_it_does_not_serve_are_refused_at_rcpt(workspace, mail_server, rcpt, code, text):
    with client(mail_server) as smtp:
        smtp.ehlo()
        smtp.mail("carol@example.org")
        answer = smtp.rcpt(rcpt)
    assert answer[0] == code and text in answer[1]
    assert not InboundEmail.objects.exists()


def test_an_oversized_mail_is_refused_with_552(workspace, mail_server):
    big = make_mail(text=("x" * 79 + "\n") * 1300)
    with client(mail_server) as smtp:
        # Declared with SIZE: refused before the data is sent.
        with pytest.raises(smtplib.SMTPSenderRefused) as declared:
            smtp.sendmail("carol@example.org", ["acme@mail.localhost"], big)
        assert declared.value.smtp_code == 552
    with client(mail_server) as smtp:
        # Not declared: refused at the end of the data.
        smtp.ehlo()
        smtp.mail("carol@example.org")
        smtp.rcpt("acme@mail.localhost")
        code, text = smtp.data(big)
    assert code == 552, text
    assert not InboundEmail.objects.exists()


def test_a_mail_that_cannot_be_stored_is_deferred_never_lost(workspace, tmp_path):
    proxy = SocketProxy(postgres_socket())
    stack = Stack(stack_env() | {"DATABASE_URL": proxied_database_url(proxy), "DB_POOL_TIMEOUT": "2"})
    port = stack.start_mail(tmp_path)
    try:
        proxy.cut()
        with client(port) as smtp:
            smtp.ehlo()
            smtp.mail("carol@example.org")
            code, _ = smtp.rcpt("acme@mail.localhost")
            assert code == 451  # the sender keeps the mail and tries again
        proxy.restore()

        def delivered() -> bool:
            with client(port) as smtp:
                return smtp.sendmail("carol@example.org", ["acme@mail.localhost"], make_mail()) == {}

        wait_for(delivered, 30, interval=0.5, ignoring=(smtplib.SMTPException,))
        assert InboundEmail.objects.get().status == InboundEmail.Status.PLACED
    finally:
        stack.stop()
        proxy.close()
