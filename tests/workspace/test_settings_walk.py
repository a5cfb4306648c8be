"""Every URL under /settings/, found from the URL configuration rather than listed by hand, so a
page added later is covered too: an agent, an admin of another workspace and an anonymous
visitor get nothing from any of them and change nothing; an owner can open every page, and the
AI provider's key appears in none of them."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.urls import URLResolver, get_resolver

from helpdesk.accounts.models import Membership
from helpdesk.ai.models import AISettings, GuidanceRule
from helpdesk.canned.models import CannedResponse
from helpdesk.knowledge.models import FAQ, Article, Document
from helpdesk.mail.models import InboundEmail, Mailbox, MailSettings
from helpdesk.team.models import Invitation
from helpdesk.workspace.models import Activity, Workspace
from tests.conftest import make_member

API_KEY = "sk-walk-test-3c0ffee-do-not-render"
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def settings_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    return sorted({r for r in walk(get_resolver().url_patterns) if r.startswith("settings/")})


ROUTES = settings_routes()


def test_the_walk_finds_every_settings_area():
    areas = {r.split("/")[1] for r in ROUTES}
    assert {"widget", "activity", "ai", "knowledge", "team", "email"} <= areas
    assert len(ROUTES) >= 30


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def objects(workspace, owner):
    """One of everything a settings URL can name, in the owner's workspace."""
    AISettings.objects.create(workspace=workspace, api_key=API_KEY, base_url="https://llm.acme.test/v1")
    colleague = make_member(workspace, "colleague@acme.test", Membership.Role.AGENT)
    return {
        "article": Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days."),
        "faq": FAQ.objects.create(workspace=workspace, question="Do you ship abroad?", answer="Yes."),
        "document": Document.objects.create(
            workspace=workspace, title="Hours", file=ContentFile(b"Open 9 to 5.", name="hours.txt")
        ),
        "guidance": GuidanceRule.objects.create(workspace=workspace, kind="tone", name="Friendly", content="Be warm."),
        "invitations": Invitation.objects.create(workspace=workspace, email="new@acme.test", invited_by=owner),
        "members": colleague.memberships.get(),
        "canned": CannedResponse.objects.create(workspace=workspace, shortcut="refund", text="Refunds take 5 days."),
        "mailbox": Mailbox.objects.create(
            workspace=workspace,
            email_address="s@acme.test",
            host="imap.acme.test",
            username="s",
            password_encrypted="x",
        ),
        "kept": InboundEmail.objects.create(
            workspace=workspace, source="smtp", raw=b"Subject: bounce\r\n\r\nx", status=InboundEmail.Status.AUTOMATIC
        ),
    }


def fill(route: str, objects: dict) -> str:
    """A concrete URL: each <int:pk> names the object of the route's area, each <kind> a kind."""
    kind = None

    def value(match: re.Match) -> str:
        nonlocal kind
        converter, name = match.group(1), match.group(2)
        if converter == "knowledge_kind":
            kind = "article"
            return kind
        if name == "pk":
            segments = route[: match.start()].strip("/").split("/")
            key = kind or next(s for s in reversed(segments) if s in objects)
            return str(objects[key].pk)
        raise AssertionError(f"no value for {name!r} in {route}")

    return "/" + PARAM.sub(value, route)


def snapshot(workspace: Workspace) -> tuple:
    """What an outsider's request must leave untouched in the workspace."""
    mine = {"workspace": workspace}
    return (
        Activity.objects.filter(**mine).count(),
        list(Workspace.objects.filter(pk=workspace.pk).values_list("public_token", "identity_secret", "widget_title")),
        list(Article.objects.filter(**mine).values_list("pk", "title", "enabled")),
        list(FAQ.objects.filter(**mine).values_list("pk", "question", "order", "active")),
        Document.objects.filter(**mine).count(),
        list(GuidanceRule.objects.filter(**mine).values_list("pk", "active")),
        list(Invitation.objects.filter(**mine).values_list("pk", "revoked_at", "token_hash")),
        list(Membership.objects.filter(**mine).values_list("pk", "role", "is_active")),
        list(CannedResponse.objects.filter(**mine).values_list("pk", "shortcut")),
        list(AISettings.objects.filter(**mine).values_list("pk", "api_key_encrypted", "enabled")),
        list(MailSettings.objects.filter(**mine).values_list("slug")),
        list(Mailbox.objects.filter(**mine).values_list("host", "username", "password_encrypted", "enabled")),
    )


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("who", ["agent", "other_admin", "anonymous"])
def test_outsiders_get_nothing_from_any_settings_url(client, workspace, other_workspace, objects, route, who):
    if who == "agent":
        client.force_login(make_member(workspace, "agent@acme.test"))
    elif who == "other_admin":
        client.force_login(make_member(other_workspace, "admin@globex.test", Membership.Role.ADMIN))
    url = fill(route, objects)
    before = snapshot(workspace)
    for method in (client.get, client.post):
        response = method(url, {"title": "Hacked", "role": "owner", "shortcut": "x", "text": "y", "ids": [1, 2]})
        if who == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login"), (
                url,
                response.status_code,
            )
        elif who == "agent":
            assert response.status_code in (403, 404, 405), (url, response.status_code)
        else:  # another workspace's admin reaches its own pages, never this workspace's objects
            if "<" in route:
                assert response.status_code in (404, 405), (url, response.status_code)
        assert API_KEY not in response.content.decode(errors="replace")
    assert snapshot(workspace) == before, url


@pytest.mark.parametrize("route", ROUTES)
def test_an_owner_opens_every_page_and_the_api_key_is_never_in_it(client, owner, objects, route):
    client.force_login(owner)
    url = fill(route, objects)
    response = client.get(url)
    assert response.status_code in (200, 302, 405), (url, response.status_code)
    if response.status_code == 200:
        assert API_KEY not in response.content.decode()
    htmx = client.get(url, HTTP_HX_REQUEST="true")
    assert API_KEY not in htmx.content.decode()
