"""A reply the visitor has not seen in the widget is emailed to them, over real SMTP: grouped,
with the agent's name, the workspace's look, and a link that reopens the conversation. What
they saw is not emailed; nothing is emailed without an address; a failed send is retried
with the very same email."""

from __future__ import annotations

import http.server
import re
import threading

import pytest
from django_tasks_db.models import DBTaskResult

from helpdesk.conversations import actions, attachments, identity
from helpdesk.conversations.models import Conversation
from helpdesk.mail import tasks
from helpdesk.mail.models import EmailThread, OutboundEmail
from helpdesk.widget import resume

pytestmark = pytest.mark.django_db

CONTINUITY = OutboundEmail.Kind.CONTINUITY


@pytest.fixture
def with_address(visitor):
    v, _raw = visitor
    identity.give_email(v, "Visitor@Example.org")
    v.contact.refresh_from_db()
    return v


def continuity_tasks(enqueued) -> list[tuple]:
    return [args for name, args in enqueued if name == "send_email" and args[1] == CONTINUITY]


def test_an_unseen_reply_is_emailed_after_the_delay_with_a_link_back(
    with_address, agent, smtp_sink, enqueued, settings
):
    settings.CONTINUITY_EMAIL_DELAY_SECONDS = 120
    conversation = actions.post_customer_message(with_address, "Do you ship to Norway?").conversation
    reply = actions.post_agent_reply(conversation, agent, "Yes, **we do**: 3-5 days.")
    assert continuity_tasks(enqueued) == [(conversation.pk, CONTINUITY)]
    result = enqueued_result(conversation)
    assert result.run_after is not None and (result.run_after - reply.created_at).total_seconds() >= 119

    tasks.send_email.call(conversation.pk, CONTINUITY)

    [mail] = smtp_sink.wait(1)
    message = mail.message
    thread = EmailThread.objects.get(conversation=conversation)
    assert mail.rcpt_tos == ["Visitor@Example.org"]
    assert message["To"] == "Visitor@Example.org"
    assert message["Reply-To"] == f"reply+{thread.token}@mail.localhost"
    assert message["From"] == '"Agent (Acme)" <acme@mail.localhost>'
    assert message["Subject"] == "Your conversation with Acme"
    assert message["Message-ID"].endswith("@mail.localhost>")
    assert message["Auto-Submitted"] is None  # a person wrote it
    text, html = mail.part("plain"), mail.part("html")
    assert "Agent:\n\nYes, **we do**: 3-5 days." in text
    assert "<strong>we do</strong>" in html and "#1f6feb" in html  # the workspace's look
    [link] = re.findall(r"Continue the conversation: (\S+)", text)
    assert link.startswith("http://localhost:8000/chat/resume/")
    assert resume.read_code(link.rsplit("/", 1)[1]) == (conversation.pk, conversation.contact_id)
    assert "this address was given in the chat with Acme. If that was not you, ignore it" in text
    assert thread.emailed_up_to == reply.pk
    assert OutboundEmail.objects.get().sent_at is not None


def enqueued_result(conversation: Conversation) -> DBTaskResult:
    return DBTaskResult.objects.filter(task_path__endswith="send_email").latest("enqueued_at")


def test_what_the_visitor_saw_in_the_widget_is_not_emailed(with_address, agent, smtp_sink):
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    reply = actions.post_agent_reply(conversation, agent, "Hello!")
    assert actions.mark_seen_by_customer(with_address.contact_id, reply.pk)
    tasks.send_email.call(conversation.pk, CONTINUITY)
    assert smtp_sink.received == [] and not OutboundEmail.objects.exists()


def test_replies_that_came_together_go_as_one_email_and_never_twice(with_address, agent, smtp_sink):
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    actions.post_agent_reply(conversation, agent, "First part.")
    actions.post_agent_reply(conversation, agent, "Second part.")
    actions.post_agent_reply(conversation, agent, "An internal note", private=True)
    tasks.send_email.call(conversation.pk, CONTINUITY)
    tasks.send_email.call(conversation.pk, CONTINUITY)  # the second reply's task: nothing left
    [mail] = smtp_sink.wait(1)
    text = mail.part("plain")
    assert text.index("First part.") < text.index("Second part.")
    assert "internal note" not in text and "internal note" not in mail.part("html")
    assert OutboundEmail.objects.count() == 1


def test_a_message_after_the_seen_one_is_still_emailed(with_address, agent, smtp_sink):
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    seen = actions.post_agent_reply(conversation, agent, "Seen this one.")
    actions.mark_seen_by_customer(with_address.contact_id, seen.pk)
    actions.post_agent_reply(conversation, agent, "But not this one.")
    tasks.send_email.call(conversation.pk, CONTINUITY)
    text = smtp_sink.wait(1)[0].part("plain")
    assert "But not this one." in text and "Seen this one." not in text


def test_nothing_is_emailed_without_an_address(visitor, agent, enqueued):
    v, _raw = visitor
    conversation = actions.post_customer_message(v, "Hi").conversation
    actions.post_agent_reply(conversation, agent, "Hello!")
    assert continuity_tasks(enqueued) == []


def test_the_ai_answer_is_emailed_as_an_automatic_reply(with_address, smtp_sink):
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    trigger = conversation.messages.get()
    actions.post_ai_reply(conversation, trigger.pk, "Our hours are 9-5.", [{"n": 1, "title": "Hours", "url": ""}])
    tasks.send_email.call(conversation.pk, CONTINUITY)
    mail = smtp_sink.wait(1)[0]
    assert mail.message["Auto-Submitted"] == "auto-replied"
    assert mail.message["From"] == "Acme <acme@mail.localhost>"
    assert "AI assistant:\n\nOur hours are 9-5." in mail.part("plain") and "[1] Hours" in mail.part("plain")


def test_automatic_emails_to_one_address_are_capped_an_hour(with_address, smtp_sink, settings):
    settings.MAIL_AUTOMATIC_REPLIES_PER_HOUR = 2
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    for n in range(3):
        trigger = actions.post_customer_message(with_address, f"Question {n}").pk
        actions.post_ai_reply(conversation, trigger, f"Answer {n}", [])
        tasks.send_email.call(conversation.pk, CONTINUITY)
    assert len(smtp_sink.wait(2)) == 2
    assert OutboundEmail.objects.count() == 2
    assert EmailThread.objects.get().emailed_up_to == conversation.messages.latest("id").pk  # never sent later


def test_a_handover_note_alone_is_not_worth_an_email(with_address, smtp_sink):
    conversation = actions.post_customer_message(with_address, "I want a person").conversation
    actions.hand_over(conversation, "asked for a person", "A person will answer you here.")
    tasks.send_email.call(conversation.pk, CONTINUITY)
    assert smtp_sink.received == []


def test_a_failed_send_is_retried_later_with_the_same_email(with_address, agent, smtp_sink, settings, enqueued):
    conversation = actions.post_customer_message(with_address, "Hi").conversation
    actions.post_agent_reply(conversation, agent, "Hello!")
    settings.EMAIL_PORT = 1  # nothing listens there
    tasks.send_email.call(conversation.pk, CONTINUITY)
    email = OutboundEmail.objects.get()
    assert email.sent_at is None and email.attempts == 1 and email.error
    assert ("deliver_email", (email.pk,)) in enqueued
    settings.EMAIL_PORT = smtp_sink.port
    tasks.deliver_email.call(email.pk)
    tasks.deliver_email.call(email.pk)  # a duplicate run sends nothing more
    [mail] = smtp_sink.wait(1)
    assert mail.message["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert email.sent_at is not None and email.error == ""


class _Page(http.server.BaseHTTPRequestHandler):
    status = 200
    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def host_page(settings, monkeypatch):
    monkeypatch.setattr(_Page, "hits", [])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{port}"]
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.mark.parametrize("status, on_page", [(200, True), (404, False)])
def test_the_link_goes_to_the_visitors_page_while_it_answers(
    workspace, agent, smtp_sink, host_page, status, on_page, monkeypatch
):
    monkeypatch.setattr(_Page, "status", status)
    workspace.allowed_domains = "127.0.0.1"
    workspace.save()
    v, _raw = identity.start_visitor(workspace, page_url=f"{host_page}/pricing")
    identity.give_email(v, "v@example.org")
    conversation = actions.post_customer_message(v, "Hi", page_url=f"{host_page}/pricing").conversation
    actions.post_agent_reply(conversation, agent, "Hello!")
    tasks.send_email.call(conversation.pk, CONTINUITY)
    [link] = re.findall(r"Continue the conversation: (\S+)", smtp_sink.wait(1)[0].part("plain"))
    assert _Page.hits == ["/pricing"]
    if on_page:
        assert link.startswith(f"{host_page}/pricing#hd-resume=")
    else:
        assert link.startswith("http://localhost:8000/chat/resume/")


def test_a_page_outside_the_allowed_domains_is_never_linked(workspace, agent, smtp_sink, host_page):
    """The page URL comes from the visitor's browser: an email from the business must not send
    its reader to a page the visitor chose."""
    v, _raw = identity.start_visitor(workspace)
    identity.give_email(v, "victim@example.org")
    conversation = actions.post_customer_message(v, "Hi", page_url=f"{host_page}/phish").conversation
    actions.post_agent_reply(conversation, agent, "Hello!")
    tasks.send_email.call(conversation.pk, CONTINUITY)
    text = smtp_sink.wait(1)[0].part("plain")
    assert host_page not in text and "http://localhost:8000/chat/resume/" in text


def test_a_private_page_is_not_fetched(workspace, agent, smtp_sink, host_page, settings):
    settings.OUTBOUND_PRIVATE_HOSTS = []
    workspace.allowed_domains = "127.0.0.1"
    workspace.save()
    v, _raw = identity.start_visitor(workspace)
    identity.give_email(v, "v@example.org")
    conversation = actions.post_customer_message(v, "Hi", page_url=f"{host_page}/pricing").conversation
    actions.post_agent_reply(conversation, agent, "Hello!")
    tasks.send_email.call(conversation.pk, CONTINUITY)
    assert "http://localhost:8000/chat/resume/" in smtp_sink.wait(1)[0].part("plain")
    assert _Page.hits == []  # refused by the outbound guard before any request


def test_an_agents_files_go_with_the_email(with_address, agent, smtp_sink, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation = actions.post_customer_message(with_address, "The manual, please").conversation
    files = attachments.store_all(conversation.workspace_id, [attachments.Incoming("manual.pdf", b"%PDF manual")])
    actions.post_agent_reply(conversation, agent, "Here it is.", files=files)
    tasks.send_email.call(conversation.pk, CONTINUITY)
    mail = smtp_sink.wait(1)[0]
    [part] = list(mail.message.iter_attachments())
    assert part.get_filename() == "manual.pdf" and part.get_content() == b"%PDF manual"
    assert "[file: manual.pdf, 11\xa0bytes]" in mail.part("plain")  # filesizeformat's no-break space
