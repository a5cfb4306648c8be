"""A visitor leaves an address in the widget, to be answered by email once they have left: kept
on their contact, unverified; an address the host page's server vouched for (a signed
identify) is never replaced by a typed one. Every replay tells the widget whether the address
is known."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from helpdesk.conversations import identity
from helpdesk.conversations.models import Contact
from helpdesk.realtime import groups
from tests.conftest import widget_headers
from tests.conversations.test_actions import listen, pushed

pytestmark = pytest.mark.django_db

EMAIL = reverse("widget:email")
IDENTIFY = reverse("widget:identify")
THREAD = reverse("widget:thread")


def give(client, workspace, raw, email, **headers):
    return client.post(EMAIL, {"email": email}, **(headers or widget_headers(workspace, raw)))


def contact_of(visitor) -> Contact:
    return Contact.objects.get(pk=visitor.contact_id)


def test_a_typed_address_is_kept_unverified_and_the_replay_then_says_it_is_known(client, workspace, visitor):
    v, raw = visitor
    assert (
        'id="email-state" hx-swap-oob="true" data-known="0"'
        in client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    )
    response = give(client, workspace, raw, "  ada@example.com ")
    assert response.status_code == 200 and response.json() == {"ok": True, "email": "ada@example.com"}
    contact = contact_of(v)
    assert (contact.email, contact.email_verified) == ("ada@example.com", False)
    assert 'data-known="1"' in client.get(THREAD, **widget_headers(workspace, raw)).content.decode()
    # Typed again, differently: still the visitor's own word, still unverified.
    assert give(client, workspace, raw, "ada@work.example").status_code == 200
    assert (contact_of(v).email, contact_of(v).email_verified) == ("ada@work.example", False)


@pytest.mark.parametrize(
    "email, error",
    [
        ("", "Enter your email address."),
        ("not an address", "That doesn't look like an email address."),
        ("a@b", "That doesn't look like an email address."),
        ("x" * 250 + "@example.com", "That email address is too long."),
        ("ada@@example.com", "That doesn't look like an email address."),
    ],
)
def test_a_bad_address_gets_a_clear_error_and_changes_nothing(client, workspace, visitor, email, error):
    v, raw = visitor
    response = give(client, workspace, raw, email)
    assert response.status_code == 400 and response.json()["error"] == error
    assert contact_of(v).email == ""


def test_an_address_the_host_pages_server_vouched_for_is_not_replaced_by_a_typed_one(client, workspace, visitor):
    v, raw = visitor
    payload = {"external_id": "u-1", "user_hash": identity.identity_hash(workspace, "u-1"), "email": "ada@corp.example"}
    response = client.post(
        IDENTIFY, json.dumps(payload), content_type="application/json", **widget_headers(workspace, raw)
    )
    assert response.json()["email_known"] is True
    v.refresh_from_db()
    assert (contact_of(v).email, contact_of(v).email_verified) == ("ada@corp.example", True)
    response = give(client, workspace, raw, "mallory@evil.example")
    assert response.status_code == 409 and "your account" in response.json()["error"]
    assert (contact_of(v).email, contact_of(v).email_verified) == ("ada@corp.example", True)
    assert give(client, workspace, raw, "ADA@corp.example").status_code == 200  # the same one: fine
    assert contact_of(v).email == "ada@corp.example"


def test_an_unsigned_identify_gives_an_unverified_address(client, workspace, visitor):
    v, raw = visitor
    response = client.post(
        IDENTIFY,
        json.dumps({"email": "bob@example.com"}),
        content_type="application/json",
        **widget_headers(workspace, raw),
    )
    assert response.json()["email_known"] is True
    assert (contact_of(v).email, contact_of(v).email_verified) == ("bob@example.com", False)


def test_outsiders_cannot_set_anyones_address(client, workspace, other_workspace, visitor):
    v, raw = visitor
    assert give(client, workspace, None, "x@example.com", HTTP_X_WIDGET_TOKEN=workspace.public_token).status_code == 403
    other = give(client, workspace, raw, "x@example.com", **widget_headers(other_workspace, raw))
    assert other.status_code == 403  # this visitor's token, another workspace's widget
    identity.forget_visitor(v)  # Helpdesk("reset"): the token is revoked
    assert give(client, workspace, raw, "x@example.com").status_code == 403
    assert contact_of(v).email == ""
    assert client.get(EMAIL, **widget_headers(workspace, raw)).status_code == 405


def test_the_address_form_is_rate_limited_per_ip(client, workspace, visitor, settings, frozen_clock):
    v, raw = visitor
    settings.WIDGET_RATE_LIMIT_PER_IP = 2
    assert give(client, workspace, raw, "a@example.com").status_code == 200
    assert give(client, workspace, raw, "b@example.com").status_code == 200
    refused = give(client, workspace, raw, "c@example.com")
    assert refused.status_code == 429
    assert contact_of(v).email == "b@example.com"


def test_agents_see_whether_the_address_is_proved(client, workspace, visitor, agent):
    from helpdesk.conversations import actions

    v, raw = visitor
    conversation = actions.post_customer_message(v, "Hello").conversation
    give(client, workspace, raw, "ada@example.com")
    client.force_login(agent)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert "ada@example.com" in page and ">unverified</span>" in page
    Contact.objects.filter(pk=v.contact_id).update(email_verified=True)
    assert ">unverified</span>" not in client.get(f"/inbox/c/{conversation.pk}/").content.decode()


def test_an_address_given_in_the_widget_shows_live_in_every_inbox(
    client, workspace, visitor, django_capture_on_commit_callbacks
):
    v, raw = visitor
    agents = listen(groups.agents(workspace.pk))
    others = listen(groups.agents(workspace.pk + 1000))
    with django_capture_on_commit_callbacks(execute=True):
        give(client, workspace, raw, "ada@example.com")
    html = pushed(agents)
    assert f'id="contact-email-{v.contact_id}" hx-swap-oob="true"' in html
    assert "ada@example.com" in html and "unverified" in html
    assert pushed(others) == ""
