"""Mail that comes in: kept whole, then placed by its reply token, then by its headers, never by
its subject alone; loops, bounces and spoofs never answered; what cannot be placed is kept."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Contact, Conversation, Message
from helpdesk.mail import incoming, tasks
from helpdesk.mail.models import EmailThread, InboundEmail, MailSettings, OutboundEmail
from helpdesk.workspace.models import Workspace
from tests.mail.conftest import make_mail

pytestmark = pytest.mark.django_db

SMTP = InboundEmail.Source.SMTP


def receive(raw: bytes, *recipients: str, **kwargs) -> InboundEmail:
    return incoming.receive(raw, source=SMTP, envelope_from="carol@example.org", recipients=list(recipients), **kwargs)


def answer_tasks(enqueued) -> list:
    return [name for name, _args in enqueued if name in ("answer", "send_away_reply")]


def test_every_workspace_has_an_address_from_its_name(workspace, other_workspace, db):
    assert MailSettings.objects.get(workspace=workspace).slug == "acme"
    assert MailSettings.objects.get(workspace=other_workspace).slug == "globex"
    twin = Workspace.objects.create(name="ACME!")
    assert MailSettings.objects.get(workspace=twin).slug == "acme-2"
    assert MailSettings.objects.get(workspace=Workspace.objects.create(name="Postmaster")).slug == "postmaster-team"


def test_a_new_mail_starts_a_conversation_by_email(workspace, enqueued):
    record = receive(make_mail(), "acme@mail.localhost")
    assert record.status == InboundEmail.Status.PLACED and record.workspace == workspace
    conversation = record.conversation
    assert conversation.channel == Conversation.Channel.EMAIL
    assert conversation.contact.email == "carol@example.org" and conversation.contact.name == "Carol Customer"
    assert not conversation.contact.email_verified  # a From header proves nothing
    [message] = conversation.messages.all()
    assert message.body == "Hello, my order 1234 has not arrived."
    assert message.author_kind == Message.Author.CUSTOMER and message.via == ""
    assert EmailThread.objects.get(conversation=conversation).subject == "Where is my order?"


def test_the_raw_mail_is_kept_whole(workspace):
    raw = make_mail(text="Line one\n\nOn Mon, Bob wrote:\n> old text\n")
    record = receive(raw, "acme@mail.localhost")
    assert bytes(record.raw) == raw


def reply_to(conversation: Conversation, text: str, *, frm="Carol <carol@example.org>", headers=None, via=None):
    thread = EmailThread.objects.get(conversation=conversation)
    to = via or f"reply+{thread.token}@mail.localhost"
    return receive(make_mail(frm=frm, to=to, subject="Re: Where is my order?", text=text, headers=headers), to)


def test_a_reply_by_its_token_continues_the_conversation_without_the_quoted_history(workspace):
    conversation = receive(make_mail(), "acme@mail.localhost").conversation
    text = (
        "Thanks, it arrived today.\n\n"
        "Best,\nCarol\n\n"
        "On Tue, 1 Dec 2026 at 10:00, Acme <acme@mail.localhost> wrote:\n"
        "> Your order is on its way.\n> Tracking: 555\n"
    )
    record = reply_to(conversation, text)
    assert record.conversation == conversation and record.status == InboundEmail.Status.PLACED
    latest = conversation.messages.latest("id")
    assert latest.body.startswith("Thanks, it arrived today.")
    assert "Your order is on its way" not in latest.body and "wrote:" not in latest.body
    assert b"Your order is on its way" in bytes(record.raw)  # the original keeps everything


def test_a_reply_by_its_headers_continues_the_conversation(workspace, agent, smtp_sink):
    conversation = receive(make_mail(), "acme@mail.localhost").conversation
    actions.post_agent_reply(conversation, agent, "It ships tomorrow.")
    tasks.send_email.call(conversation.pk, OutboundEmail.Kind.REPLY)
    sent = OutboundEmail.objects.get()
    # A client that drops the Reply-To and writes to the workspace's address, keeping the headers.
    record = receive(
        make_mail(text="Great, thanks", headers={"In-Reply-To": sent.message_id, "References": sent.message_id}),
        "acme@mail.localhost",
    )
    assert record.conversation == conversation
    only_references = receive(
        make_mail(text="One more thing", headers={"References": f"<x@elsewhere> {sent.message_id}"}),
        "acme@mail.localhost",
    )
    assert only_references.conversation == conversation
    assert Conversation.objects.count() == 1


def test_the_same_subject_alone_never_joins_a_conversation(workspace):
    first = receive(make_mail(subject="Refund"), "acme@mail.localhost").conversation
    forwarded = receive(
        make_mail(subject="Fwd: Refund", text="---------- Forwarded message ---------\nRefund"), "acme@mail.localhost"
    )
    same = receive(make_mail(subject="Refund"), "acme@mail.localhost")
    assert len({first.pk, forwarded.conversation_id, same.conversation_id}) == 3


def test_the_reply_of_a_widget_visitor_lands_in_their_chat_and_proves_their_address(
    visitor, agent, smtp_sink, enqueued
):
    v, _raw = visitor
    identity.give_email(v, "carol@example.org")
    conversation = actions.post_customer_message(v, "Do you ship to Norway?").conversation
    actions.post_agent_reply(conversation, agent, "Yes.")
    tasks.send_email.call(conversation.pk, OutboundEmail.Kind.CONTINUITY)
    record = reply_to(conversation, "And to Iceland?")
    assert record.conversation == conversation
    message = conversation.messages.latest("id")
    assert (message.body, message.via) == ("And to Iceland?", "email")
    assert Contact.objects.get(pk=v.contact_id).email_verified
    # Answered by email from now on: the next reply goes at once, not after the widget's delay.
    enqueued.clear()
    actions.post_agent_reply(conversation, agent, "Yes, Iceland too.")
    assert ("send_email", (conversation.pk, OutboundEmail.Kind.REPLY)) in enqueued


def test_a_reply_from_another_address_does_not_prove_the_visitors(visitor, agent, smtp_sink):
    v, _raw = visitor
    identity.give_email(v, "carol@example.org")
    conversation = actions.post_customer_message(v, "Hi").conversation
    actions.post_agent_reply(conversation, agent, "Hello")
    tasks.send_email.call(conversation.pk, OutboundEmail.Kind.CONTINUITY)
    reply_to(conversation, "Forwarded to my colleague", frm="mallory@example.net")
    assert not Contact.objects.get(pk=v.contact_id).email_verified


def test_a_stranger_mailing_from_a_typed_address_never_reaches_that_widget(visitor):
    """Anyone can type any address into a widget: mail from that address starts its own
    conversation, with its own contact, and never shows in that widget."""
    v, _raw = visitor
    identity.give_email(v, "carol@example.org")
    widget_conversation = actions.post_customer_message(v, "Hi").conversation
    record = receive(make_mail(), "acme@mail.localhost")
    assert record.conversation.contact_id != v.contact_id
    assert actions.current_conversation(Contact.objects.get(pk=v.contact_id)) == widget_conversation


def test_a_proven_address_gets_its_mail_under_its_contact(workspace):
    contact = Contact.objects.create(
        workspace=workspace, email="carol@example.org", email_verified=True, verified=True, external_id="u1"
    )
    assert receive(make_mail(), "acme@mail.localhost").conversation.contact == contact


def test_a_token_of_another_workspace_is_refused(workspace, other_workspace):
    conversation = receive(make_mail(), "acme@mail.localhost").conversation
    token = EmailThread.objects.get(conversation=conversation).token
    spoof = f"reply+{token}@mail.localhost"
    # Sent to Globex's address and, beside it, Acme's reply address.
    record = receive(make_mail(to=f"globex@mail.localhost, {spoof}", text="Injected"), "globex@mail.localhost", spoof)
    assert record.status == InboundEmail.Status.REFUSED and record.conversation is None
    # Fetched from Globex's own mailbox.
    record = receive(make_mail(to=spoof, text="Injected"), spoof, workspace=other_workspace)
    assert record.status == InboundEmail.Status.REFUSED
    assert not Message.objects.filter(body__contains="Injected").exists()


def test_mail_that_cannot_be_placed_is_kept(workspace):
    record = receive(make_mail(to="nobody@elsewhere.example"), "nobody@elsewhere.example")
    assert record.status == InboundEmail.Status.UNPLACED and record.reason == "addressed to no workspace"
    unknown_token = receive(
        make_mail(to="reply+" + "0" * 24 + "@mail.localhost"), "reply+" + "0" * 24 + "@mail.localhost"
    )
    assert unknown_token.status == InboundEmail.Status.UNPLACED
    assert InboundEmail.objects.count() == 2 and not Message.objects.exists()


@pytest.mark.parametrize(
    "headers, envelope_from, frm",
    [
        ({}, "<>", "MAILER-DAEMON@mx.example.org"),
        ({}, "", "postmaster@example.org"),
        ({"report": True}, "bounces@example.org", "carol@example.org"),
    ],
)
def test_bounces_are_kept_and_never_posted(workspace, headers, envelope_from, frm):
    raw = make_mail(frm=frm)
    if headers:  # a delivery status notification (RFC 3464)
        report = message_from_bytes(raw, policy=policy.default)
        report.make_mixed()
        report.set_type("multipart/report")
        report.set_param("report-type", "delivery-status")
        raw = report.as_bytes()
    record = incoming.receive(raw, source=SMTP, envelope_from=envelope_from, recipients=["acme@mail.localhost"])
    assert record.status == InboundEmail.Status.AUTOMATIC and not Message.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<news.example.org>"},
    ],
)
def test_automatic_mail_is_posted_but_never_answered(workspace, enqueued, headers):
    record = receive(make_mail(headers=headers, text="I am out of office"), "acme@mail.localhost")
    assert record.status == InboundEmail.Status.PLACED and "automatic" in record.reason
    assert record.message.body == "I am out of office"
    assert answer_tasks(enqueued) == []


def test_our_own_mail_coming_back_is_a_loop_and_is_not_posted(workspace, agent, smtp_sink):
    conversation = receive(make_mail(), "acme@mail.localhost").conversation
    actions.post_agent_reply(conversation, agent, "Hello")
    tasks.send_email.call(conversation.pk, OutboundEmail.Kind.REPLY)
    raw = smtp_sink.wait(1)[0].raw
    record = receive(raw, "acme@mail.localhost")
    assert record.status == InboundEmail.Status.AUTOMATIC and "loop" in record.reason
    assert conversation.messages.count() == 2


def test_a_sender_over_its_rate_is_kept_but_not_answered(workspace, enqueued, settings):
    settings.INBOUND_EMAIL_PER_SENDER_PER_HOUR = 2
    for n in range(3):
        record = receive(make_mail(subject=f"Mail {n}"), "acme@mail.localhost")
    assert record.status == InboundEmail.Status.PLACED and "rate" in record.reason
    assert Message.objects.filter(author_kind=Message.Author.CUSTOMER).count() == 3


def test_an_html_only_mail_becomes_text_without_its_scripts(workspace):
    only_html = EmailMessage()
    only_html["From"], only_html["To"], only_html["Subject"] = "carol@example.org", "acme@mail.localhost", "Hi"
    only_html.set_content(
        "<p>Hello <b>team</b></p><script>alert(1)</script><style>p{}</style><p>Line 2</p>", subtype="html"
    )
    record = receive(only_html.as_bytes(), "acme@mail.localhost")
    body = record.message.body
    assert "Hello team" in body and "Line 2" in body
    assert "alert" not in body and "<" not in body


def test_attachments_become_the_messages_files_and_others_are_named(workspace, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    raw = make_mail(
        attachments=[
            ("invoice.pdf", b"%PDF-1.4 fake", "application/pdf"),
            ("setup.exe", b"MZ", "application/octet-stream"),
        ]
    )
    record = receive(raw, "acme@mail.localhost")
    message = record.message
    [attachment] = message.attachments.all()
    assert (attachment.name, attachment.file.open("rb").read()) == ("invoice.pdf", b"%PDF-1.4 fake")
    assert message.attachment_count == 1
    assert message.body.endswith(
        "Not attached (kept with the original email): Files like “setup.exe” cannot be sent here."
    )
    assert b"setup.exe" in bytes(record.raw)


def test_an_oversized_mail_is_refused_before_it_is_kept(workspace, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 10 * 1024
    with pytest.raises(incoming.TooLarge):
        receive(make_mail(text="x" * 20_000), "acme@mail.localhost")
    assert not InboundEmail.objects.exists()


def test_a_new_email_is_answered_by_the_ai_like_a_chat(workspace, enqueued):
    AISettings.objects.create(workspace=workspace, enabled=True)
    record = receive(make_mail(), "acme@mail.localhost")
    assert record.reason == ""
    assert ("answer", (record.message_id,)) in enqueued


def test_the_ai_answer_to_an_email_goes_out_at_once_as_an_automatic_reply(workspace, smtp_sink, enqueued):
    record = receive(make_mail(), "acme@mail.localhost")
    conversation = record.conversation
    actions.post_ai_reply(conversation, record.message_id, "It ships in 2 days.", [])
    assert ("send_email", (conversation.pk, OutboundEmail.Kind.REPLY)) in enqueued
    tasks.send_email.call(conversation.pk, OutboundEmail.Kind.REPLY)
    mail = smtp_sink.wait(1)[0].message
    assert mail["Subject"] == "Re: Where is my order?"
    assert mail["In-Reply-To"] == record.message_id_header
    assert mail["References"] == record.message_id_header
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["To"] == "carol@example.org"
