"""The whole loop of a conversation that outlives the browser tab, in a real browser and over
real SMTP both ways: the visitor leaves an address and closes the tab; the agent replies; the
email arrives (from the worker, through a capturing SMTP server) with the reply address and
the link back; the visitor answers by email (through the product's receiving SMTP server) and
the agent sees it live; the link opens the conversation in another browser."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from helpdesk.conversations.models import Contact, Conversation, Message
from helpdesk.mail.models import EmailThread, InboundEmail
from tests.browser.pages import quiet_workspace
from tests.browser.test_chat_flow import open_widget, sign_in
from tests.conftest import make_member
from tests.mail.conftest import Sink, _Capture
from tests.processes import Stack, free_port, stack_env
from tests.waiting import wait_for

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sink():
    captured = Sink("127.0.0.1", free_port())
    controller = Controller(_Capture(captured), hostname=captured.host, port=captured.port)
    controller.start()
    yield captured
    controller.stop()


@pytest.fixture
def mail_stack(tmp_path, sink, host_site):
    port = free_port()
    stack = Stack(
        stack_env()
        | {
            "SITE_URL": f"http://127.0.0.1:{port}",
            "CONTINUITY_EMAIL_DELAY_SECONDS": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": sink.host,
            "EMAIL_PORT": str(sink.port),
            "OUTBOUND_PRIVATE_HOSTS": f"127.0.0.1:{host_site.port}",  # the visitor's page, asked if it answers
        },
        port=port,
    )
    stack.start_web(tmp_path)
    stack.start_worker(tmp_path, interval=0.2)
    mail_port = stack.start_mail(tmp_path)
    yield stack, mail_port
    stack.stop()


def test_a_reply_reaches_a_visitor_who_left_and_their_email_answer_reaches_the_agent(
    browser, mail_stack, host_site, sink
):
    mail_stack, mail_port = mail_stack
    workspace = quiet_workspace(allowed_domains=f"127.0.0.1:{host_site.port}")
    agent = make_member(workspace, "agent@acme.test")
    page_url = host_site.publish(workspace, mail_stack.base_url, "/")

    # The visitor writes while nobody is online, leaves an address, and closes the tab.
    site, widget = open_widget(browser, page_url)
    widget.locator("#composer-input").fill("Can I change my delivery address?")
    widget.locator("#composer-input").press("Enter")
    offer = widget.locator("#email-offer")
    offer.locator("input").fill("ada@example.com")
    offer.locator("input").press("Enter")
    expect(widget.locator("#email-saved")).to_be_visible()
    site.context.close()

    # The agent answers in the inbox.
    inbox = sign_in(browser, mail_stack, agent)
    inbox.locator("#conversation-list a").first.click()
    inbox.locator("textarea[name=body]").fill("Yes: reply with the new address and we'll change it.")
    inbox.locator("textarea[name=body]").press("Enter")
    expect(inbox.locator(".message[data-kind=agent]")).to_have_count(1)

    # The email arrives: from the agent, with the reply address and the link back to the page.
    [mail] = sink.wait(1)
    message = mail.message
    contact = Contact.objects.get(workspace=workspace)
    thread = EmailThread.objects.get(conversation__contact=contact)
    assert mail.rcpt_tos == ["ada@example.com"]
    assert message["Reply-To"] == f"reply+{thread.token}@mail.localhost"
    assert message["From"] == '"Agent (Acme)" <acme@mail.localhost>'
    text = mail.part("plain")
    assert "Yes: reply with the new address and we'll change it." in text
    [link] = re.findall(r"Continue the conversation: (\S+)", text)
    assert link.startswith(f"{page_url}#hd-resume=")

    # The visitor answers from their mail client; the agent sees it live.
    answer = EmailMessage()
    answer["From"] = "Ada <ada@example.com>"
    answer["To"] = message["Reply-To"]
    answer["Subject"] = "Re: " + message["Subject"]
    answer["Message-ID"] = make_msgid(domain="example.com")
    answer["In-Reply-To"] = message["Message-ID"]
    answer["References"] = message["Message-ID"]
    answer.set_content(
        "The new address is 5 Elm Street.\n\nOn Tue, Acme wrote:\n> Yes: reply with the new address and we'll change it.\n"
    )
    with smtplib.SMTP("127.0.0.1", mail_port, timeout=10) as smtp:
        assert smtp.send_message(answer) == {}
    expect(inbox.locator(".message[data-kind=customer]").last).to_contain_text("The new address is 5 Elm Street.")
    expect(inbox.locator(".message[data-kind=customer]").last).not_to_contain_text("On Tue, Acme wrote")
    expect(inbox.locator(".message[data-kind=customer] [data-original]").last).to_have_text("by email")
    assert InboundEmail.objects.get().status == InboundEmail.Status.PLACED
    assert Contact.objects.get(pk=contact.pk).email_verified  # they answered the email: the address is theirs

    # The link opens the whole conversation in another browser, on the visitor's page.
    elsewhere = browser.new_context(viewport={"width": 1100, "height": 800})
    other = elsewhere.new_page()
    other.goto(link)
    chat = other.frame_locator("#helpdesk-widget iframe")
    expect(chat.locator(".msg-customer[data-seq]").first).to_contain_text("Can I change my delivery address?")
    expect(chat.locator(".msg-agent[data-seq]")).to_contain_text("Yes: reply with the new address")
    expect(chat.locator(".msg-customer[data-seq]").last).to_contain_text("The new address is 5 Elm Street.")
    assert "hd-resume" not in other.url  # the code leaves the address bar
    # The open widget says what the visitor has now seen of the team's messages: never emailed.
    last = Message.objects.filter(conversation=thread.conversation, author_kind="agent").latest("id").pk
    wait_for(lambda: (Conversation.objects.get(pk=thread.conversation_id).customer_seen_id or 0) >= last)
    assert len(sink.received) == 1
    elsewhere.close()
    inbox.context.close()
