"""Helpers for the browser tests of how pages look and work (accessibility, phones, keyboards):
a browser context signed in without the sign-in form, a conversation with one message of each
kind, and the widget's page with that visitor's thread."""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from helpdesk.accounts.models import User
from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Conversation
from helpdesk.knowledge.models import Article
from helpdesk.workspace.models import Workspace

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def signed_in(browser, stack, user: User, **options):
    """A new browser context with `user`'s session cookie (the sign-in form has its own tests)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": stack.base_url}])
    return context


def quiet_workspace(**fields) -> Workspace:
    """A workspace whose AI stays quiet, so that the only messages are the test's own."""
    workspace = Workspace.objects.create(name="Acme", widget_company_name="Acme", **fields)
    AISettings.objects.create(workspace=workspace, enabled=False)
    return workspace


def conversation_with_every_kind(workspace: Workspace, agent: User) -> tuple[Conversation, str]:
    """A conversation holding a customer message, an AI answer with sources, an agent's reply and
    a private note; and the raw visitor token of the customer's browser."""
    visitor, raw = identity.start_visitor(workspace, page_url="https://acme.test/pricing")
    question = actions.post_customer_message(visitor, "Hello, how long does delivery to Norway take?")
    conversation = question.conversation
    article = Article.objects.create(workspace=workspace, title="Shipping and delivery", body="Two to four days.")
    sources = [
        {
            "n": 1,
            "kind": "article",
            "id": article.pk,
            "chunk_id": 1,
            "title": article.title,
            "url": f"/help/{article.public_id}/",
        },
        {"n": 2, "kind": "faq", "id": 1, "chunk_id": 2, "title": "Do you ship abroad?", "url": ""},
    ]
    actions.post_ai_reply(conversation, question.pk, "Delivery takes five to seven working days [1] [2].", sources)
    actions.post_agent_reply(conversation, agent, "I can confirm: about a week to Norway.")
    actions.post_agent_reply(conversation, agent, "Customer asked twice before", private=True)
    return conversation, raw


def remember_visitor(context, workspace: Workspace, raw: str) -> None:
    """The widget in `context` is the browser that holds the visitor token `raw`."""
    context.add_init_script(
        f"try {{ localStorage.setItem('hd.visitor.{workspace.public_token}', '{raw}'); }} catch (e) {{}}"
    )
