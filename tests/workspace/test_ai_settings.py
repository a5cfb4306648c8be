"""The AI settings page: owners and admins only, validated inline, recorded, and the API key
never leaves the server."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from helpdesk.ai import agent, modes, provider
from helpdesk.ai.models import AISettings
from helpdesk.workspace.models import Activity
from tests.llm_stub import LLMStub
from tests.processes import free_port

KEY = "sk-live-Zebra-7f3a9c-DISTINCTIVE"

URLS = [
    ("get", "/settings/ai/"),
    ("post", "/settings/ai/"),
    ("post", "/settings/ai/test-connection"),
]

VALID = {
    "enabled": "on",
    "base_url": "https://llm.acme.test/v1",
    "api_key": "",
    "chat_model": "gpt-4.1-mini",
    "embedding_model": "",
    "temperature": "0.3",
    "max_tokens": "600",
    "timeout": "20",
    "retries": "1",
    "history_length": "12",
    "fallback_message": "A person will reply here soon.",
    "business_name": "Acme Anvils",
    "business_description": "We sell anvils.",
    "instructions": "Be brief.",
    "links": "https://acme.test/pricing\n\n  https://acme.test/returns  ",
}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture(scope="module")
def llm():
    stub = LLMStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(llm, settings):
    """The stub as the workspace's own provider (a loopback address the operator allows)."""
    llm.mode, llm.reply, llm.redirect_to = "ok", None, None
    llm.requests.clear()
    llm.authorizations.clear()
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{llm.port}"]
    return llm


@pytest.fixture
def keyed(workspace) -> AISettings:
    """The workspace's settings with a distinctive key saved."""
    ai = AISettings.for_workspace(workspace)
    ai.api_key = KEY
    ai.save()
    return ai


def saved(workspace) -> dict:
    ai = AISettings.for_workspace(workspace)
    return {f: getattr(ai, f) for f in [*VALID, "api_key_encrypted"] if f != "api_key"}


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("method,url", URLS)
def test_an_agent_cannot_open_or_post_any_ai_settings_url(agent_client, workspace, keyed, method, url):
    before = saved(workspace)
    response = getattr(agent_client, method)(url, {**VALID, "api_key": "sk-other"} if method == "post" else None)
    assert response.status_code == 403
    assert saved(workspace) == before
    assert not Activity.objects.exists()


@pytest.mark.parametrize("method,url", URLS)
def test_anonymous_users_are_sent_to_sign_in(client, workspace, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_admin_of_another_workspace_changes_only_their_own(outsider_client, workspace, other_workspace, keyed):
    before = saved(workspace)
    assert outsider_client.post("/settings/ai/", {**VALID, "api_key": "sk-globex-key"}).status_code == 200
    assert saved(workspace) == before and keyed.api_key == KEY
    theirs = AISettings.objects.get(workspace=other_workspace)
    assert theirs.chat_model == "gpt-4.1-mini" and theirs.api_key == "sk-globex-key"
    assert not Activity.objects.filter(workspace=workspace).exists()


# ---------------------------------------------------------------- saving


def test_an_admin_saves_the_settings_and_the_change_is_logged(owner_client, workspace, owner):
    response = owner_client.post("/settings/ai/", VALID, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "AI settings saved" in html and "<html" not in html
    ai = AISettings.objects.get(workspace=workspace)
    assert (ai.base_url, ai.chat_model, ai.temperature, ai.max_tokens, ai.timeout, ai.retries, ai.history_length) == (
        "https://llm.acme.test/v1",
        "gpt-4.1-mini",
        0.3,
        600,
        20.0,
        1,
        12,
    )
    assert (ai.business_name, ai.instructions) == ("Acme Anvils", "Be brief.")
    assert ai.links == "https://acme.test/pricing\nhttps://acme.test/returns"  # blank lines and spaces dropped
    entry = Activity.objects.get(workspace=workspace)
    assert entry.actor == owner and entry.action == "ai.updated"
    assert entry.detail["changed"]["chat_model"] == "gpt-4.1-mini"
    assert "api_key" not in entry.detail["changed"]  # no key was entered


def test_the_settings_take_effect_in_the_ai_agent(owner_client, workspace):
    owner_client.post("/settings/ai/", {**VALID, "enabled": ""})
    ai = AISettings.for_workspace(workspace)
    assert not ai.enabled and agent.provider_config(ai).base_url == "https://llm.acme.test/v1"


def test_a_blank_chat_model_is_allowed_for_knowledge_only_answers(owner_client, workspace):
    assert owner_client.post("/settings/ai/", {**VALID, "chat_model": ""}).status_code == 200
    assert AISettings.objects.get(workspace=workspace).chat_model == ""


def test_without_an_embeddings_api_the_embedding_model_is_kept_for_later(owner_client, workspace):
    html = owner_client.post("/settings/ai/", VALID, HTTP_HX_REQUEST="true").content.decode()
    assert "applies once the server uses an embeddings API" not in html
    data = {**VALID, "embedding_model": "text-embedding-3-large"}
    html = owner_client.post("/settings/ai/", data, HTTP_HX_REQUEST="true").content.decode()
    assert "applies once the server uses an embeddings API" in html
    assert AISettings.objects.get(workspace=workspace).embedding_model == "text-embedding-3-large"


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("base_url", "not a url", "valid URL"),
        ("base_url", "ftp://llm.acme.test/", "valid URL"),
        ("base_url", "https://acme.test/" + "x" * 200, "at most 200"),
        ("temperature", "2.5", "less than or equal to 2"),
        ("temperature", "-0.1", "greater than or equal to 0"),
        ("temperature", "warm", "Enter a number"),
        ("max_tokens", "0", "greater than or equal to 1"),
        ("max_tokens", "4001", "less than or equal to 4000"),
        ("timeout", "0", "greater than or equal to 1"),
        ("timeout", "121", "less than or equal to 120"),
        ("retries", "6", "less than or equal to 5"),
        ("history_length", "0", "greater than or equal to 1"),
        ("history_length", "51", "less than or equal to 50"),
        ("chat_model", "m" * 101, "at most 100"),
        ("fallback_message", "", "required"),
        ("fallback_message", "x" * 501, "at most 500"),
        ("business_name", "x" * 121, "at most 120"),
        ("business_description", "x" * 2001, "at most 2000"),
        ("instructions", "x" * 4001, "at most 4000"),
        ("links", "https://acme.test/ok\nwww.acme.test/faq", "Line 2 is not a web address"),
        ("links", "javascript:alert(1)", "Line 1 is not a web address"),
    ],
)
def test_bad_input_gets_an_inline_error_and_changes_nothing(owner_client, workspace, keyed, field, value, error):
    before = saved(workspace)
    response = owner_client.post("/settings/ai/", {**VALID, "api_key": "sk-new", field: value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html
    assert "<html" not in html  # the form partial only, swapped in place by htmx
    assert saved(workspace) == before
    assert not Activity.objects.exists()


def test_posts_without_csrf_are_refused(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/settings/ai/", VALID).status_code == 403


# ---------------------------------------------------------------- the API key


def test_a_new_key_is_saved_encrypted_and_logged_without_its_value(owner_client, workspace):
    response = owner_client.post("/settings/ai/", {**VALID, "api_key": KEY})
    assert response.status_code == 200 and KEY not in response.content.decode()
    ai = AISettings.objects.get(workspace=workspace)
    assert ai.api_key == KEY and KEY not in ai.api_key_encrypted
    entry = Activity.objects.get(action="ai.updated")
    assert entry.detail["changed"]["api_key"] == "changed"
    assert KEY not in json.dumps(entry.detail)
    assert KEY not in owner_client.get("/settings/activity/").content.decode()


def test_a_blank_key_keeps_the_saved_one(owner_client, workspace, keyed):
    owner_client.post("/settings/ai/", VALID)
    assert AISettings.objects.get(workspace=workspace).api_key == KEY
    assert "api_key" not in Activity.objects.get(action="ai.updated").detail["changed"]


def test_clear_removes_the_saved_key(owner_client, workspace, keyed):
    html = owner_client.post("/settings/ai/", {**VALID, "clear_api_key": "on"}, HTTP_HX_REQUEST="true").content.decode()
    ai = AISettings.objects.get(workspace=workspace)
    assert ai.api_key == "" and not ai.api_key_is_set
    assert "Not set." in html
    assert Activity.objects.get(action="ai.updated").detail["changed"]["api_key"] == "cleared"


def test_a_new_key_and_clear_together_are_refused(owner_client, workspace, keyed):
    response = owner_client.post(
        "/settings/ai/", {**VALID, "api_key": "sk-new", "clear_api_key": "on"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422 and 'data-error-for="clear_api_key"' in response.content.decode()
    assert AISettings.objects.get(workspace=workspace).api_key == KEY


def test_the_page_says_only_whether_a_key_is_set(owner_client, workspace):
    html = owner_client.get("/settings/ai/").content.decode()
    assert "Not set." in html and "with a base URL of your own, no key is sent" in html
    owner_client.post("/settings/ai/", {**VALID, "api_key": KEY})
    html = owner_client.get("/settings/ai/").content.decode()
    assert "Set. Leave blank to keep it." in html
    assert 'type="password"' in html and KEY not in html


def test_the_key_never_appears_in_any_response(owner_client, workspace, keyed, stub):
    stub.mode = "fail"
    responses = [
        owner_client.get("/settings/ai/"),
        owner_client.post("/settings/ai/", {**VALID, "api_key": KEY}),
        owner_client.post("/settings/ai/", {**VALID, "api_key": KEY}, HTTP_HX_REQUEST="true"),
        owner_client.post("/settings/ai/", {**VALID, "api_key": KEY, "temperature": "9"}),
        owner_client.post("/settings/ai/", {**VALID, "api_key": KEY, "temperature": "9"}, HTTP_HX_REQUEST="true"),
        owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": stub.url, "api_key": KEY}),
        owner_client.post(
            "/settings/ai/test-connection", {**VALID, "base_url": stub.url, "api_key": KEY}, HTTP_HX_REQUEST="true"
        ),
        owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": stub.url}, HTTP_HX_REQUEST="true"),
        owner_client.post(
            "/settings/ai/test-connection", {**VALID, "api_key": KEY, "timeout": "0"}, HTTP_HX_REQUEST="true"
        ),
        owner_client.get("/settings/ai/guidance/"),
        owner_client.post("/settings/ai/guidance/", {"kind": "tone", "name": "", "content": ""}),
        owner_client.get("/settings/activity/"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 422, 422, 200, 200, 200, 422, 200, 422, 200]
    for response in responses:
        assert KEY not in response.content.decode()
    assert "HTTP 500 Internal Server Error" in responses[7].content.decode()  # the tests did reach the provider


# ---------------------------------------------------------------- test connection


def test_test_connection_reports_success_with_the_form_values_unsaved(owner_client, workspace, stub):
    before = saved(workspace)
    response = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": stub.url, "api_key": KEY}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="connection-result"' in html and "Connected: gpt-4.1-mini answered." in html
    assert "<form" not in html  # the result area only
    [request] = stub.chat_requests()
    assert request["model"] == "gpt-4.1-mini"
    assert saved(workspace) == before
    assert not Activity.objects.exists()


def test_test_connection_shows_the_providers_status_but_not_its_body(owner_client, workspace, stub):
    stub.mode = "fail"
    response = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": stub.url}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The connection failed" in html and "HTTP 500 Internal Server Error" in html
    assert "stub says no" not in html  # the body of whatever answers at the base URL is not echoed
    assert len(stub.chat_requests()) == 1  # no retries while the admin waits


def test_test_connection_without_htmx_shows_the_page_with_the_result(owner_client, workspace, stub):
    response = owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": stub.url})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "Connected: gpt-4.1-mini answered." in html


def test_test_connection_uses_the_saved_key_when_the_field_is_blank(owner_client, workspace, keyed, stub, monkeypatch):
    used = []
    real_check = provider.check

    def recording_check(config, model):
        used.append(config.api_key)
        return real_check(config, model)

    monkeypatch.setattr(provider, "check", recording_check)
    owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": stub.url}, HTTP_HX_REQUEST="true")
    owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": stub.url, "api_key": "sk-typed"}, HTTP_HX_REQUEST="true"
    )
    assert used == [KEY, "sk-typed"]


def test_test_connection_with_invalid_values_shows_the_form_errors(owner_client, workspace, stub):
    response = owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": "nope"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#ai-form" and response["HX-Reswap"] == "outerHTML"
    assert 'data-error-for="base_url"' in response.content.decode()
    assert not stub.requests


def test_test_connection_needs_a_chat_model(owner_client, workspace, stub):
    html = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "chat_model": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Enter a chat model to test the connection." in html
    assert not stub.requests


def test_the_settings_pages_are_linked_from_the_settings_menu(owner_client, workspace):
    html = owner_client.get("/settings/widget/").content.decode()
    assert 'href="/settings/ai/"' in html and 'href="/settings/ai/guidance/"' in html


# ---------------------------------------------------------------- base URLs on the private network


PRIVATE_BASE_URLS = [
    ("http://127.0.0.1:11434/v1", "127.0.0.1 is a private address", "OUTBOUND_PRIVATE_HOSTS=127.0.0.1:11434"),
    ("http://localhost:11434/v1", "localhost resolves to 127.0.0.1", "OUTBOUND_PRIVATE_HOSTS=localhost:11434"),
    (
        "http://169.254.169.254/latest/",
        "169.254.169.254 is a private address",
        "OUTBOUND_PRIVATE_HOSTS=169.254.169.254:80",
    ),
    ("https://10.0.0.5/v1", "10.0.0.5 is a private address", "OUTBOUND_PRIVATE_HOSTS=10.0.0.5:443"),
    ("http://[::1]:8000/v1", "[::1] is a private address", "OUTBOUND_PRIVATE_HOSTS=[::1]:8000"),
    ("http://[::ffff:127.0.0.1]:8000/v1", "is a private address", "OUTBOUND_PRIVATE_HOSTS=[::ffff:127.0.0.1]:8000"),
]


@pytest.fixture
def nothing_allowed(settings, loopback_only):
    """OUTBOUND_PRIVATE_HOSTS unset; and should the guard fail, nothing leaves the machine."""
    settings.OUTBOUND_PRIVATE_HOSTS = []
    return loopback_only


@pytest.mark.parametrize("url,what,hint", PRIVATE_BASE_URLS)
def test_a_private_base_url_is_refused_on_save_naming_the_setting(
    owner_client, workspace, keyed, nothing_allowed, url, what, hint
):
    before = saved(workspace)
    response = owner_client.post("/settings/ai/", {**VALID, "base_url": url}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-error-for="base_url"' in html and what in html and hint in html
    assert saved(workspace) == before
    assert not Activity.objects.exists()


@pytest.mark.parametrize("url,what,hint", PRIVATE_BASE_URLS)
def test_a_private_base_url_is_refused_by_test_connection_before_any_request(
    owner_client, workspace, nothing_allowed, url, what, hint
):
    response = owner_client.post("/settings/ai/test-connection", {**VALID, "base_url": url}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and response["HX-Retarget"] == "#ai-form"
    html = response.content.decode()
    assert 'data-error-for="base_url"' in html and what in html and hint in html
    assert nothing_allowed == []  # no connection was even tried off loopback


def test_test_connection_of_a_private_base_url_reaches_nothing_there(
    owner_client, workspace, stub, settings, nothing_allowed
):
    settings.OUTBOUND_PRIVATE_HOSTS = []
    response = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": stub.url}, HTTP_HX_REQUEST="true"
    )
    assert f"OUTBOUND_PRIVATE_HOSTS=127.0.0.1:{stub.port}" in response.content.decode()
    assert stub.requests == []


def test_an_open_and_a_closed_private_port_look_the_same_to_the_admin(
    owner_client, workspace, stub, settings, nothing_allowed
):
    settings.OUTBOUND_PRIVATE_HOSTS = []
    closed = free_port()
    errors = []
    for port in (stub.port, closed):
        html = owner_client.post(
            "/settings/ai/test-connection", {**VALID, "base_url": f"http://127.0.0.1:{port}/v1"}, HTTP_HX_REQUEST="true"
        ).content.decode()
        errors.append(re.findall(r'data-error-for="base_url">([^<]*)<', html.replace(str(port), "PORT")))
    assert errors[0] == errors[1] and "OUTBOUND_PRIVATE_HOSTS=127.0.0.1:PORT" in errors[0][0]
    assert stub.requests == []


def test_a_host_the_operator_allowed_can_be_saved(owner_client, workspace, settings, nothing_allowed):
    settings.OUTBOUND_PRIVATE_HOSTS = ["localhost:11434"]
    assert owner_client.post("/settings/ai/", {**VALID, "base_url": "http://localhost:11434/v1"}).status_code == 200
    assert AISettings.objects.get(workspace=workspace).base_url == "http://localhost:11434/v1"


def test_the_servers_own_base_url_needs_no_entry(owner_client, workspace, settings, nothing_allowed):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:11434/v1"
    assert owner_client.post("/settings/ai/", {**VALID, "base_url": "http://127.0.0.1:11434/v1/"}).status_code == 200


def test_a_redirect_from_an_allowed_host_to_a_private_port_is_refused_at_connection_time(
    owner_client, workspace, stub, settings, nothing_allowed
):
    settings.OUTBOUND_PRIVATE_HOSTS = [f"127.0.0.1:{stub.port}"]
    target = LLMStub().start()
    try:
        stub.redirect_to = target.url
        html = owner_client.post(
            "/settings/ai/test-connection", {**VALID, "base_url": stub.url}, HTTP_HX_REQUEST="true"
        ).content.decode()
        assert "The connection failed" in html and f"OUTBOUND_PRIVATE_HOSTS=127.0.0.1:{target.port}" in html
        assert len(stub.requests) == 1 and target.requests == []
    finally:
        target.stop()


def test_a_name_that_resolves_elsewhere_after_it_was_saved_is_refused_at_connection_time(
    owner_client, workspace, stub, settings, nothing_allowed, fake_dns
):
    settings.OUTBOUND_PRIVATE_HOSTS = []
    url = f"http://rebind.example:{stub.port}/v1"
    fake_dns.answer("rebind.example", "93.184.215.14", "93.184.215.14", "127.0.0.1")
    assert owner_client.post("/settings/ai/", {**VALID, "base_url": url}).status_code == 200  # public when saved
    html = owner_client.post(
        "/settings/ai/test-connection", {**VALID, "base_url": url}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "rebind.example resolves to 127.0.0.1" in html  # form check public, connection private
    assert stub.requests == [] and nothing_allowed == []


# ---------------------------------------------------------------- which mode the AI is in


def mode_box(html: str) -> str:
    start = html.index('id="ai-mode"')
    return html[start : html.index("</div>", start)]


def test_with_no_key_and_no_base_url_the_page_says_knowledge_only_and_what_to_do(owner_client, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    box = mode_box(owner_client.get("/settings/ai/").content.decode())
    assert 'data-mode="knowledge"' in box and 'data-reason="no_provider"' in box
    assert "knowledge-only" in box and "No API key and no base URL are set" in box
    assert "OPENAI_API_KEY" in box and "Ollama" in box  # what to do, and where
    assert "answers with gpt-4o-mini" not in box


def test_with_a_key_the_page_says_which_model_answers(owner_client, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-test", ""
    box = mode_box(owner_client.get("/settings/ai/").content.decode())
    assert 'data-mode="model"' in box and "The AI answers with gpt-4o-mini." in box


def test_saving_a_base_url_switches_the_stated_mode_at_once(owner_client, workspace, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    response = owner_client.post("/settings/ai/", VALID, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The AI answers with gpt-4.1-mini." in mode_box(response.content.decode())


def test_an_invalid_form_states_the_saved_mode_not_the_typed_one(owner_client, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    response = owner_client.post("/settings/ai/", {**VALID, "temperature": "9"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert 'data-reason="no_provider"' in mode_box(response.content.decode())


@pytest.mark.parametrize(
    ("change", "reason", "text"),
    [
        ({"enabled": False}, "ai_off", "The AI is off."),
        ({"chat_model": ""}, "no_chat_model", "No chat model is set."),
    ],
)
def test_the_page_says_when_the_ai_is_off_or_has_no_chat_model(owner_client, workspace, settings, change, reason, text):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-test", ""
    AISettings.objects.filter(pk=AISettings.for_workspace(workspace).pk).update(**change)
    box = mode_box(owner_client.get("/settings/ai/").content.decode())
    assert f'data-reason="{reason}"' in box and text in box


def test_the_agent_and_the_page_read_the_same_mode(workspace, settings):
    ai = AISettings.for_workspace(workspace)
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    assert modes.of(ai).kind == modes.KNOWLEDGE and not agent.chat_configured(ai)
    settings.OPENAI_BASE_URL = "http://ollama.internal:11434/v1"  # a local server needs no key
    assert modes.of(ai).kind == modes.MODEL and agent.chat_configured(ai)
    ai.enabled = False
    assert modes.of(ai).kind == modes.OFF
    assert agent.chat_configured(ai)  # suggested replies still use the model with AI answers off
