"""The public side: /chat in the iframe, its API (visitor, thread, messages, identify) and /embed.js."""

import gzip
import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Contact, Message, Visitor
from helpdesk.lib import ratelimit
from helpdesk.lib.tokens import hash_token
from helpdesk.widget.views import served_loader
from tests.conftest import widget_headers

CHAT = reverse("widget:chat")
START = reverse("widget:start")
THREAD = reverse("widget:thread")
SEND = reverse("widget:send")
IDENTIFY = reverse("widget:identify")
EMBED = reverse("widget:embed")


def frame_ancestors(response) -> str:
    directives = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";"))
    return directives["frame-ancestors"]


def send(client, workspace, raw, body="Hello", **data):
    return client.post(SEND, {"body": body, **data}, **widget_headers(workspace, raw))


def identify(client, workspace, raw, payload):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(IDENTIFY, body, content_type="application/json", **widget_headers(workspace, raw))


# ---------------------------------------------------------------- /chat


def test_it_shows_the_chat_for_the_workspace_token(client, workspace):
    response = client.get(CHAT, {"token": workspace.public_token})
    assert response.status_code == 200
    assert f'data-token="{workspace.public_token}"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("params", [{}, {"token": "wt_unknown"}, {"token": "x" * 200}], ids=["none", "unknown", "huge"])
def test_it_answers_404_for_an_unknown_token(client, db, params):
    response = client.get(CHAT, params)
    assert response.status_code == 404
    assert "This chat is not available" in response.content.decode()


def test_it_answers_404_when_the_widget_is_disabled(client, workspace):
    workspace.widget_enabled = False
    workspace.save()
    assert client.get(CHAT, {"token": workspace.public_token}).status_code == 404


def test_it_may_be_framed_by_any_site_when_no_domains_are_listed(client, workspace):
    response = client.get(CHAT, {"token": workspace.public_token})
    assert "X-Frame-Options" not in response
    assert frame_ancestors(response) == "*"


def test_it_may_be_framed_only_by_the_listed_domains(client, workspace):
    workspace.allowed_domains = "https://shop.acme.test\n*.acme.test\n"
    workspace.save()
    response = client.get(CHAT, {"token": workspace.public_token})
    assert "X-Frame-Options" not in response
    assert frame_ancestors(response) == "'self' https://shop.acme.test *.acme.test"


def test_pages_other_than_the_chat_may_not_be_framed(client, db):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert frame_ancestors(response) == "'none'"


def test_it_refuses_a_parent_origin_that_is_not_allowed(client, workspace):
    workspace.allowed_domains = "https://shop.acme.test"
    workspace.save()
    response = client.get(CHAT, {"token": workspace.public_token, "parentOrigin": "https://evil.test"})
    assert response.status_code == 403
    assert frame_ancestors(response) == "'self' https://shop.acme.test"


def test_it_accepts_a_parent_origin_that_is_allowed(client, workspace):
    workspace.allowed_domains = "*.acme.test"
    workspace.save()
    response = client.get(CHAT, {"token": workspace.public_token, "parentOrigin": "https://shop.acme.test/cart?x=1"})
    assert response.status_code == 200
    assert 'data-parent-origin="https://shop.acme.test"' in response.content.decode()


def test_it_refuses_a_parent_origin_that_is_not_an_origin(client, workspace):
    response = client.get(CHAT, {"token": workspace.public_token, "parentOrigin": "javascript:alert(1)"})
    assert response.status_code == 403


def test_it_uses_the_workspace_defaults_without_url_options(client, workspace):
    page = client.get(CHAT, {"token": workspace.public_token}).content.decode()
    assert f"<title>{workspace.widget_title}</title>" in page
    assert "--hd-primary: #1f6feb" in page
    assert 'data-position="right"' in page


def test_url_options_override_the_workspace_defaults(client, workspace):
    page = client.get(
        CHAT, {"token": workspace.public_token, "title": "Need help?", "primaryColor": "#FF0066", "position": "left"}
    ).content.decode()
    assert "<title>Need help?</title>" in page
    assert "--hd-primary: #FF0066" in page
    assert 'data-position="left"' in page


@pytest.mark.parametrize("color", ["red", "#fff", "#ff0066;background:url(x)", "ff0066"])
def test_it_ignores_a_primary_color_that_is_not_a_hex_colour(client, workspace, color):
    page = client.get(CHAT, {"token": workspace.public_token, "primaryColor": color}).content.decode()
    assert 'style="--hd-primary: #1f6feb; --hd-on-primary: #ffffff"' in page
    assert 'data-color="#1f6feb"' in page


@pytest.mark.parametrize(
    ("color", "text"),
    [("#1f6feb", "#ffffff"), ("#111827", "#ffffff"), ("#fde047", "#0f172a"), ("#ffffff", "#0f172a")],
)
def test_text_on_the_workspace_colour_is_white_or_ink_whichever_reads_better(client, workspace, color, text):
    page = client.get(CHAT, {"token": workspace.public_token, "primaryColor": color}).content.decode()
    assert f'style="--hd-primary: {color}; --hd-on-primary: {text}"' in page


def test_it_ignores_an_unknown_position(client, workspace):
    page = client.get(CHAT, {"token": workspace.public_token, "position": "top"}).content.decode()
    assert 'data-position="right"' in page


def test_it_escapes_a_title_from_the_url(client, workspace):
    page = client.get(CHAT, {"token": workspace.public_token, "title": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# ---------------------------------------------------------------- visitor


def test_it_issues_a_visitor_token_and_keeps_only_its_hash(client, workspace):
    response = client.post(START, {"page_url": "https://acme.test/pricing"}, **widget_headers(workspace))
    assert response.status_code == 201
    raw = response.json()["visitor"]
    assert raw.startswith("vt_")
    visitor = Visitor.objects.get(workspace=workspace)
    assert visitor.token_hash == hash_token(raw)
    assert not Visitor.objects.filter(token_hash=raw).exists()
    assert visitor.contact.last_page_url == "https://acme.test/pricing"


def test_it_ignores_a_page_url_that_is_not_http(client, workspace):
    client.post(START, {"page_url": "javascript:alert(1)"}, **widget_headers(workspace))
    assert Visitor.objects.get(workspace=workspace).contact.last_page_url == ""


def test_it_issues_no_visitor_token_for_an_unknown_widget(client, db):
    response = client.post(START, HTTP_X_WIDGET_TOKEN="wt_unknown")
    assert response.status_code == 404
    assert not Visitor.objects.exists()


def test_it_limits_new_visitors_per_ip(client, workspace, settings, frozen_clock):
    settings.WIDGET_RATE_LIMIT_PER_IP = 3
    statuses = [client.post(START, **widget_headers(workspace)).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert Visitor.objects.count() == 3


# ---------------------------------------------------------------- thread


def test_the_thread_shows_the_visitors_public_messages(client, workspace, visitor, conversation, agent):
    _, raw = visitor
    actions.post_agent_reply(conversation, agent, "It ships today")
    response = client.get(THREAD, **widget_headers(workspace, raw))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hello, where is my order?" in page
    assert "It ships today" in page
    assert response["Cache-Control"] == "no-store"


def test_the_thread_never_shows_private_notes(client, workspace, visitor, conversation, agent):
    _, raw = visitor
    actions.post_agent_reply(conversation, agent, "Internal: customer is a reseller", private=True)
    actions.assign(conversation, agent, agent)
    page = client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    assert "Hello, where is my order?" in page
    assert "reseller" not in page
    assert "took the conversation" not in page


def test_the_thread_never_shows_another_visitors_messages(client, workspace, visitor, conversation):
    other, other_raw = identity.start_visitor(workspace)
    actions.post_customer_message(other, "My secret order number is 9912")
    _, raw = visitor
    page = client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    assert "Hello, where is my order?" in page
    assert "9912" not in page
    assert (
        "Hello, where is my order?" not in client.get(THREAD, **widget_headers(workspace, other_raw)).content.decode()
    )


def test_the_thread_starts_after_the_cursor(client, workspace, visitor, conversation):
    v, raw = visitor
    first = conversation.messages.get()
    Message.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )  # older than the replay grace
    actions.post_customer_message(v, "Second message")
    page = client.get(THREAD, {"after": first.pk}, **widget_headers(workspace, raw)).content.decode()
    assert "Second message" in page
    assert "Hello, where is my order?" not in page


def test_the_thread_refuses_a_bad_cursor(client, workspace, visitor):
    _, raw = visitor
    assert client.get(THREAD, {"after": "abc"}, **widget_headers(workspace, raw)).status_code == 400


@pytest.mark.parametrize("raw", [None, "vt_forged", "x" * 500], ids=["absent", "forged", "huge"])
def test_the_thread_refuses_an_unknown_visitor(client, workspace, conversation, raw):
    response = client.get(THREAD, **widget_headers(workspace, raw))
    assert response.status_code == 403
    assert "Hello, where is my order?" not in response.content.decode()


def test_the_thread_refuses_a_visitor_token_under_another_workspaces_widget(
    client, other_workspace, visitor, conversation
):
    _, raw = visitor
    response = client.get(THREAD, **widget_headers(other_workspace, raw))
    assert response.status_code == 403
    assert "Hello, where is my order?" not in response.content.decode()


def test_thread_polls_are_limited_per_visitor(client, workspace, visitor, settings, frozen_clock):
    settings.WIDGET_LIVE_LIMIT_PER_VISITOR = 3
    _, raw = visitor
    _, other_raw = identity.start_visitor(workspace)
    statuses = [client.get(THREAD, **widget_headers(workspace, raw)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(THREAD, **widget_headers(workspace, raw)).json()["error"]
    assert client.get(THREAD, **widget_headers(workspace, other_raw)).status_code == 200


def test_thread_polls_are_limited_per_address(client, workspace, settings, frozen_clock):
    settings.WIDGET_LIVE_LIMIT_PER_IP = 3
    tokens = [identity.start_visitor(workspace)[1] for _ in range(4)]
    statuses = [client.get(THREAD, **widget_headers(workspace, raw)).status_code for raw in tokens]
    assert statuses == [200, 200, 200, 429]
    elsewhere = client.get(THREAD, REMOTE_ADDR="198.51.100.9", **widget_headers(workspace, tokens[-1]))
    assert elsewhere.status_code == 200


def test_a_real_visitor_polling_for_a_minute_is_never_refused(client, workspace, visitor, frozen_clock):
    """The widget polls every WIDGET_POLL_SECONDS while its socket is down, and asks once more
    on every (re)connect; several pages of the site may be open at once."""
    _, raw = visitor
    polls = 3 * 60 // settings.WIDGET_POLL_SECONDS  # three tabs polling for a whole minute
    assert all(client.get(THREAD, **widget_headers(workspace, raw)).status_code == 200 for _ in range(polls))


# ---------------------------------------------------------------- messages


def test_it_saves_a_message_and_returns_it(client, workspace, visitor):
    v, raw = visitor
    client_id = str(uuid.uuid4())
    response = send(
        client, workspace, raw, "  Where is my order?  ", client_id=client_id, page_url="https://acme.test/orders"
    )
    assert response.status_code == 201
    assert f'data-client-id="{client_id}"' in response.content.decode()
    message = Message.objects.get()
    assert message.body == "Where is my order?"
    assert message.client_id == client_id
    assert message.conversation.contact_id == v.contact_id
    assert message.conversation.page_url == "https://acme.test/orders"


@pytest.mark.parametrize("body", ["", "   \n  "], ids=["empty", "blank"])
def test_it_refuses_an_empty_message(client, workspace, visitor, body):
    _, raw = visitor
    response = send(client, workspace, raw, body)
    assert response.status_code == 400
    assert response.json() == {"error": "Type a message first."}
    assert not Message.objects.exists()


def test_it_accepts_a_message_of_exactly_the_maximum_length(client, workspace, visitor):
    _, raw = visitor
    assert send(client, workspace, raw, "x" * settings.WIDGET_MESSAGE_MAX_LENGTH).status_code == 201


def test_it_refuses_a_message_over_the_maximum_length_and_saves_nothing(client, workspace, visitor):
    _, raw = visitor
    response = send(client, workspace, raw, "x" * (settings.WIDGET_MESSAGE_MAX_LENGTH + 1))
    assert response.status_code == 413
    assert str(settings.WIDGET_MESSAGE_MAX_LENGTH) in response.json()["error"]
    assert not Message.objects.exists()


def test_it_refuses_a_client_id_that_is_not_a_uuid(client, workspace, visitor):
    _, raw = visitor
    response = send(client, workspace, raw, client_id="1; DROP TABLE")
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_it_saves_one_message_for_a_retried_client_id(client, workspace, visitor):
    _, raw = visitor
    client_id = str(uuid.uuid4())
    first = send(client, workspace, raw, "Hi", client_id=client_id)
    retry = send(client, workspace, raw, "Hi", client_id=client_id)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert Message.objects.count() == 1
    assert first.content == retry.content


@pytest.mark.parametrize("raw", [None, "vt_forged"], ids=["absent", "forged"])
def test_it_refuses_a_message_from_an_unknown_visitor(client, workspace, raw):
    response = send(client, workspace, raw)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_it_refuses_a_visitor_token_under_another_workspaces_widget(client, other_workspace, visitor):
    _, raw = visitor
    response = send(client, other_workspace, raw)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_it_refuses_messages_for_a_disabled_widget(client, workspace, visitor):
    _, raw = visitor
    workspace.widget_enabled = False
    workspace.save()
    assert send(client, workspace, raw).status_code == 403
    assert not Message.objects.exists()


def test_the_eleventh_message_in_a_minute_is_refused(client, workspace, visitor, frozen_clock):
    _, raw = visitor
    assert settings.WIDGET_RATE_LIMIT_PER_VISITOR == 10
    statuses = [send(client, workspace, raw, f"Message {i}").status_code for i in range(11)]
    assert statuses == [201] * 10 + [429]
    assert send(client, workspace, raw).json() == {
        "error": "You're sending messages too quickly. Please wait a minute."
    }
    assert Message.objects.count() == 10


def test_the_rate_limit_is_counted_per_visitor(client, workspace, visitor, settings, frozen_clock):
    settings.WIDGET_RATE_LIMIT_PER_VISITOR = 2
    _, raw = visitor
    _, other_raw = identity.start_visitor(workspace)
    assert [send(client, workspace, raw).status_code for _ in range(3)] == [201, 201, 429]
    assert send(client, workspace, other_raw).status_code == 201


def test_the_rate_limit_resets_in_the_next_minute(client, workspace, visitor, settings, monkeypatch):
    settings.WIDGET_RATE_LIMIT_PER_VISITOR = 1
    _, raw = visitor
    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now[0]))
    assert [send(client, workspace, raw).status_code for _ in range(2)] == [201, 429]
    now[0] += 60
    assert send(client, workspace, raw).status_code == 201


def test_the_endpoints_are_post_or_get_only(client, workspace, visitor):
    _, raw = visitor
    assert client.get(SEND, **widget_headers(workspace, raw)).status_code == 405
    assert client.get(START, **widget_headers(workspace)).status_code == 405
    assert client.get(IDENTIFY, **widget_headers(workspace, raw)).status_code == 405
    assert client.post(THREAD, **widget_headers(workspace, raw)).status_code == 405
    assert client.post(CHAT, {"token": workspace.public_token}).status_code == 405


# ---------------------------------------------------------------- feedback


@pytest.fixture
def answer(conversation):
    return actions.post_ai_reply(conversation, conversation.messages.get().pk, "Delivery takes two days.", [])


def rate(client, workspace, raw, answer, rating="up", **extra):
    return client.post(
        reverse("widget:feedback", args=[answer.pk]), {"rating": rating}, **widget_headers(workspace, raw), **extra
    )


def test_a_thumbs_up_still_lets_the_visitor_say_it_solved_the_question(client, workspace, visitor, answer):
    _, raw = visitor
    assert rate(client, workspace, raw, answer, "up").status_code == 200
    answer.conversation.refresh_from_db()
    assert answer.conversation.status != "resolved"
    assert rate(client, workspace, raw, answer, "solved").status_code == 200
    answer.conversation.refresh_from_db()
    assert answer.conversation.status == "resolved" and answer.conversation.ai_resolved
    assert answer.__class__.objects.get(pk=answer.pk).feedback.rating == "up"


def test_ratings_are_limited_per_visitor(client, workspace, visitor, answer, settings, frozen_clock):
    settings.WIDGET_RATE_LIMIT_PER_VISITOR = 2
    _, raw = visitor
    statuses = [rate(client, workspace, raw, answer, rating).status_code for rating in ("up", "down", "up")]
    assert statuses == [200, 200, 429]
    assert answer.__class__.objects.get(pk=answer.pk).feedback.rating == "down"  # the refused one changed nothing


def test_ratings_are_limited_per_address(client, workspace, visitor, answer, settings, frozen_clock):
    settings.WIDGET_RATE_LIMIT_PER_IP = 2
    _, raw = visitor
    statuses = [rate(client, workspace, raw, answer).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert rate(client, workspace, raw, answer, REMOTE_ADDR="198.51.100.9").status_code == 200


# ---------------------------------------------------------------- identify


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        {"name": 42},
        {"name": None},
        {"name": "x" * 201},
        {"email": "x" * 250 + "@a.test"},
        {"email": "not-an-email"},
        {"external_id": ["user-42"]},
        {"traits": ["a"]},
        {"traits": {"blob": "x" * 5000}},
    ],
    ids=[
        "not json",
        "not an object",
        "number name",
        "null name",
        "long name",
        "long email",
        "bad email",
        "list external id",
        "list traits",
        "huge traits",
    ],
)
def test_identify_refuses_bad_input_and_changes_nothing(client, workspace, visitor, payload):
    v, raw = visitor
    response = identify(client, workspace, raw, payload)
    assert response.status_code == 400
    assert response.json()["error"]
    contact = Contact.objects.get(pk=v.contact_id)
    assert (contact.name, contact.email, contact.traits) == ("", "", {})


def test_identify_records_name_email_and_traits(client, workspace, visitor):
    v, raw = visitor
    response = identify(
        client, workspace, raw, {"name": " Ada ", "email": "ada@example.com", "traits": {"plan": "pro"}}
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "verified": False, "changed": False, "email_known": True}
    contact = Contact.objects.get(pk=v.contact_id)
    assert (contact.name, contact.email, contact.traits) == ("Ada", "ada@example.com", {"plan": "pro"})
    assert contact.email_verified is False  # the page's own word, unsigned


def test_identify_accepts_traits_nested_four_levels_deep(client, workspace, visitor):
    v, raw = visitor
    traits = {"address": {"lines": [{"street": "Main St 1"}]}}  # the traits object, address, lines, a line
    assert identify(client, workspace, raw, {"traits": traits}).status_code == 200
    assert Contact.objects.get(pk=v.contact_id).traits == traits
    deeper = {"address": {"lines": [{"street": ["Main St 1"]}]}}
    response = identify(client, workspace, raw, {"traits": deeper})
    assert response.status_code == 400
    assert response.json()["error"] == "traits may nest at most 4 levels deep."
    assert Contact.objects.get(pk=v.contact_id).traits == traits


def test_identify_refuses_a_wrong_hash_and_changes_nothing(client, workspace, visitor, conversation):
    v, raw = visitor
    response = identify(client, workspace, raw, {"name": "Mallory", "external_id": "user-42", "user_hash": "0" * 64})
    assert response.status_code == 403
    v.refresh_from_db()
    assert v.contact.name == ""
    assert not Contact.objects.filter(verified=True).exists()
    conversation.refresh_from_db()
    assert conversation.contact_id == v.contact_id


def test_identify_with_a_correct_hash_links_a_verified_contact(client, workspace, visitor, conversation):
    _v, raw = visitor
    user_hash = identity.identity_hash(workspace, "user-42")
    response = identify(client, workspace, raw, {"name": "Ada", "external_id": "user-42", "user_hash": user_hash})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "verified": True, "changed": True, "email_known": False}
    verified = Contact.objects.get(workspace=workspace, external_id="user-42", verified=True)
    assert verified.name == "Ada"
    conversation.refresh_from_db()
    assert conversation.contact_id == verified.pk
    page = client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    assert "Hello, where is my order?" in page


@pytest.mark.parametrize("raw", [None, "vt_forged"], ids=["absent", "forged"])
def test_identify_refuses_an_unknown_visitor(client, workspace, raw):
    response = identify(client, workspace, raw, {"name": "Ada"})
    assert response.status_code == 403
    assert not Contact.objects.filter(name="Ada").exists()


# ---------------------------------------------------------------- /embed.js


def test_it_serves_the_loader_script(client):
    response = client.get(EMBED)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "Content-Encoding" not in response
    assert response["Vary"] == "Accept-Encoding"
    assert response["Access-Control-Allow-Origin"] == "*"
    source = (settings.BASE_DIR / "embed" / "embed.js").read_bytes()
    assert response.content == served_loader(source)
    # The file as written, only without indentation and comment lines.
    kept = [line.strip() for line in source.decode().splitlines() if line.strip() and not line.strip().startswith("//")]
    assert response.content.decode().split("\n") == kept


def test_it_serves_the_loader_script_gzipped_when_asked(client):
    response = client.get(EMBED, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == served_loader((settings.BASE_DIR / "embed" / "embed.js").read_bytes())


def test_the_loader_script_is_under_2_kb_gzipped(client):
    response = client.get(EMBED, HTTP_ACCEPT_ENCODING="gzip")
    assert len(response.content) < 2 * 1024


def test_an_allowed_domain_with_a_port_allows_only_that_port(workspace):
    from helpdesk.widget.options import origin_allowed

    workspace.allowed_domains = "acme.test:8080"
    assert origin_allowed(workspace, "http://acme.test:8080")
    assert not origin_allowed(workspace, "http://acme.test:9090")
    assert not origin_allowed(workspace, "http://acme.test")
