"""Shared fixtures: three people (owner, teammate, outsider in another workspace), visitors,
the in-memory channel layer for unit tests, and real processes for cross-process tests.

Where tests live: beside the code they test, one folder per app (`tests/<app>/` for each
package under helpdesk/: accounts, ai, canned, conversations, inbox, knowledge, lib, ops,
realtime, team, widget, workspace), one file per module, view or behaviour (`test_<thing>.py`).

At the top only what is about the whole product, not one app:
    test_access.py          every inbox URL from the outsider's side, across the apps
    test_admin.py           every model of every app in Django's admin
    test_hostile_input.py   markup, NUL and oversized input, wherever the product shows or takes it
    test_security.py        production security settings, CSP and cookies on every page
    test_settings.py        helpdesk/settings.py read from the environment (lib/env.py's helpers)
    test_static.py          the collected, compressed static files of a production web process
    test_imports.py         the import rules: no cycle, dependencies point one way
    browser/                end to end in Chromium; sorted last (see below), and slow

Helpers shared by several folders (modules, not tests):
    waiting.py      wait_for / wait_for_async: poll a condition until it holds, never a fixed sleep
    processes.py    real web (daphne) and worker processes, the test database as a URL, a socket proxy
    livehttp.py     signing in over HTTP and raw sockets, against a real web process
    llm_stub.py     the OpenAI-compatible stand-in for the LLM provider
    netguard.py     fixtures `loopback_only` and `fake_dns` (a plugin: see pytest_plugins)
A folder's own helpers and fixtures sit in that folder (its conftest.py, embedding_stub.py, ...).

Timing is not tested here: no test asserts how long something took (bench/ measures that).
A test waits for what it can observe (tests/waiting.py), or controls the clock of the code
under test (a fake `time` monkeypatched into that module), instead of sleeping.

One test: `.venv/bin/python -m pytest tests/lib/test_ratelimit.py::test_hits_over_the_limit_are_refused`.
"""

from __future__ import annotations

import os
import uuid

import pytest
from channels.layers import channel_layers

from helpdesk.accounts.models import Membership, User
from helpdesk.conversations import actions, identity
from helpdesk.workspace.models import Workspace

# Fixtures shared by several test files: `loopback_only` and `fake_dns`.
pytest_plugins = ["tests.netguard"]

IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def pytest_configure(config):
    config.addinivalue_line("markers", "processes: starts real web/worker processes over Redis")


def pytest_collection_modifyitems(session, config, items):
    """Browser tests last: Playwright's sync API leaves an event loop in the main thread."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))


@pytest.fixture(autouse=True)
def _unit_channel_layer(request, settings):
    """Unit tests use the in-memory layer; tests marked `processes` cross real processes instead."""
    if request.node.get_closest_marker("processes") is None:
        settings.CHANNEL_LAYERS = IN_MEMORY_LAYER
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """A cache of the test's own (its own key prefix): fresh rate limits without FLUSHDB, which
    would also wipe the channel layer's groups that live processes share in the same Redis."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"t-{uuid.uuid4().hex[:12]}"}}
    yield


@pytest.fixture
def enqueued():
    """The background tasks enqueued while the test runs, as (task name, args)."""
    from django_tasks.signals import task_enqueued

    seen = []

    def record(sender, task_result, **kwargs):
        seen.append((task_result.task.name, tuple(task_result.args)))

    task_enqueued.connect(record)
    yield seen
    task_enqueued.disconnect(record)


@pytest.fixture(autouse=True)
def _test_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def make_member(
    workspace: Workspace, email: str, role: str = Membership.Role.AGENT, password: str = "pw-for-tests-1"
) -> User:
    user = User.objects.create_user(email, password, name=email.split("@")[0].title())
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Acme", widget_company_name="Acme")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Globex")


@pytest.fixture
def owner(workspace) -> User:
    return make_member(workspace, "owner@acme.test", Membership.Role.OWNER)


@pytest.fixture
def agent(workspace) -> User:
    return make_member(workspace, "agent@acme.test")


@pytest.fixture
def outsider(other_workspace) -> User:
    return make_member(other_workspace, "outsider@globex.test", Membership.Role.OWNER)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def visitor(workspace):
    """(Visitor, raw token) of a new browser on the workspace's site."""
    return identity.start_visitor(workspace, page_url="https://acme.test/pricing")


def widget_headers(workspace: Workspace, raw_visitor: str | None = None) -> dict:
    headers = {"HTTP_X_WIDGET_TOKEN": workspace.public_token}
    if raw_visitor:
        headers["HTTP_X_VISITOR_TOKEN"] = raw_visitor
    return headers


@pytest.fixture
def conversation(visitor):
    v, _raw = visitor
    return actions.post_customer_message(v, "Hello, where is my order?").conversation


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
