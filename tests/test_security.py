"""Production security settings: `check --deploy` is clean, HTTPS turns on secure cookies and HSTS,
every page carries a Content-Security-Policy, and the widget never sees the agent's cookies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from helpdesk.conversations import identity
from helpdesk.knowledge.models import Article
from helpdesk.lib.security import WidgetSocketWithoutCookies
from tests.processes import ROOT, database_url

PRODUCTION = {
    "DEBUG": "0",
    "HTTPS": "1",
    "SECRET_KEY": "k" * 20 + "-production-secret-for-tests-only-" + "z" * 20,
    "ALLOWED_HOSTS": "help.example.com",
}


def run_with_env(code: str, env: dict) -> subprocess.CompletedProcess:
    from django.conf import settings

    base = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, *code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_the_production_switches(db):
    result = run_with_env(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_https_turns_on_secure_cookies_the_https_redirect_and_hsts(db):
    code = (
        "import json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'helpdesk.settings');"
        "from django.conf import settings as s;"
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_HTTPONLY]))"
    )
    on = json.loads(run_with_env(["-c", code], PRODUCTION).stdout)
    assert on == [True, True, True, 31536000, True, "Lax", True]
    off = json.loads(run_with_env(["-c", code], {**PRODUCTION, "HTTPS": "0"}).stdout)
    assert off[:4] == [False, False, False, 0]


def test_the_session_cookie_is_http_only_and_same_site_lax(client, agent):
    response = client.post(reverse("accounts:login"), {"username": agent.email, "password": "pw-for-tests-1"})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


# ---------------------------------------------------------------- CSP


def csp(response) -> dict[str, str]:
    return dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/login/",
        "/accounts/password-reset/",
        "/inbox/",
        "/settings/widget/",
        "/settings/knowledge/",
        "/settings/team/",
        "/admin/",
        "/no-such-page/",
        "/help/{article}/",
    ],
)
def test_every_page_has_a_csp_and_may_not_be_framed(client, owner, workspace, url):
    article = Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days.")
    owner.is_staff = owner.is_superuser = True
    owner.save()
    client.force_login(owner)
    response = client.get(url.format(article=article.public_id))
    policy = csp(response)
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


def test_the_chat_may_be_framed_only_by_the_workspaces_sites(client, workspace):
    workspace.allowed_domains = "https://shop.acme.test\n*.acme.test"
    workspace.save()
    policy = csp(client.get(reverse("widget:chat"), {"token": workspace.public_token}))
    assert policy["frame-ancestors"] == "'self' https://shop.acme.test *.acme.test"
    assert policy["script-src"] == "'self'"


# ---------------------------------------------------------------- the widget and the agent's cookies


def test_the_widget_never_sees_or_sets_a_cookie_even_for_a_signed_in_agent(client, agent, workspace):
    client.force_login(agent)
    client.get(reverse("inbox:index"))  # a CSRF cookie too
    assert client.cookies.get("sessionid")
    page = client.get(reverse("widget:chat"), {"token": workspace.public_token})
    assert page.status_code == 200
    assert page.wsgi_request.COOKIES == {}
    assert not page.wsgi_request.user.is_authenticated
    assert not page.cookies
    start = client.post(reverse("widget:start"), HTTP_X_WIDGET_TOKEN=workspace.public_token)
    assert start.status_code == 201 and not start.cookies and start.wsgi_request.COOKIES == {}


def test_the_widget_socket_loses_the_cookie_header_and_the_inbox_socket_keeps_it():
    seen = {}

    async def inner(scope, receive, send):
        seen[scope["path"]] = dict(scope["headers"])

    app = WidgetSocketWithoutCookies(inner)
    headers = [(b"cookie", b"sessionid=agent-session"), (b"origin", b"http://testserver")]
    for path in ("/ws/chat/", "/ws/inbox/"):
        async_to_sync(app)({"type": "websocket", "path": path, "headers": headers}, None, None)
    assert b"cookie" not in seen["/ws/chat/"] and seen["/ws/chat/"][b"origin"] == b"http://testserver"
    assert seen["/ws/inbox/"][b"cookie"] == b"sessionid=agent-session"


def test_a_widget_post_with_an_agents_cookies_and_no_token_is_refused(client, agent, workspace):
    client.force_login(agent)
    _visitor, _raw = identity.start_visitor(workspace)
    response = client.post(reverse("widget:send"), {"body": "hi"}, HTTP_X_WIDGET_TOKEN=workspace.public_token)
    assert response.status_code in (401, 403)
    assert not workspace.conversations.exists()
