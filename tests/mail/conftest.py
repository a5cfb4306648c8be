"""Email fixtures: a real SMTP server that captures what the product sends (aiosmtpd), and
mails to feed in."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.mail.dovecot import dovecot  # noqa: F401  (a fixture)
from tests.processes import free_port
from tests.waiting import wait_for


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    def part(self, kind: str) -> str:
        body = self.message.get_body(preferencelist=(kind,))
        assert body is not None, f"no text/{kind} part"
        return body.get_content().replace("\r\n", "\n")


@dataclass
class Sink:
    """What the capturing server received, in order."""

    host: str
    port: int
    received: list[Captured] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, count: int = 1) -> list[Captured]:
        wait_for(lambda: len(self.received) >= count, message=f"{count} mail(s) at the capturing SMTP server")
        return list(self.received)


class _Capture:
    def __init__(self, sink: Sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.received.append(Captured(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback, and the product's email sent to it over SMTP."""
    sink = Sink("127.0.0.1", free_port())
    controller = Controller(_Capture(sink), hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


def make_mail(
    *,
    frm: str = "Carol Customer <carol@example.org>",
    to: str = "acme@mail.localhost",
    subject: str = "Where is my order?",
    text: str = "Hello, my order 1234 has not arrived.",
    html: str | None = None,
    headers: dict | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = frm
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, data, mime in attachments or []:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire
