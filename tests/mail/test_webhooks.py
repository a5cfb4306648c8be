"""Mail in through an email provider's inbound webhook (Mailgun's raw MIME forward, as
django-anymail parses it), from the attacker's side too: no basic auth, a forged signature,
and the route off while no secret is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse

from helpdesk.mail.models import InboundEmail
from tests.mail.conftest import make_mail

pytestmark = pytest.mark.django_db

SECRET = "hook:s3cret-for-tests"
SIGNING_KEY = "mailgun-signing-key-for-tests"
URL = reverse("mail_webhooks:mailgun")


@pytest.fixture
def configured(settings):
    settings.INBOUND_WEBHOOK_SECRET = SECRET
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def mailgun_post(raw: bytes, *, key: str = SIGNING_KEY) -> dict:
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "body-mime": raw.decode(),
        "recipient": "acme@mail.localhost",
        "sender": "carol@example.org",
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }


def test_a_mailgun_forward_becomes_a_conversation(client, workspace, configured):
    response = client.post(URL, mailgun_post(make_mail()), **auth())
    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert record.source == InboundEmail.Source.WEBHOOK and record.status == InboundEmail.Status.PLACED
    assert record.envelope_from == "carol@example.org"
    assert record.message.body == "Hello, my order 1234 has not arrived."


def test_a_forged_signature_or_no_auth_is_refused_and_stores_nothing(client, workspace, configured):
    assert client.post(URL, mailgun_post(make_mail(), key="not-the-key"), **auth()).status_code == 400
    # (anymail answers 400 to a missing or wrong basic auth too)
    assert client.post(URL, mailgun_post(make_mail())).status_code == 400
    assert client.post(URL, mailgun_post(make_mail()), **auth("hook:wrong")).status_code == 400
    assert not InboundEmail.objects.exists()


def test_the_route_is_off_without_a_secret(client, workspace, settings):
    settings.INBOUND_WEBHOOK_SECRET = ""
    assert client.post(URL, mailgun_post(make_mail()), **auth()).status_code == 404
    assert not InboundEmail.objects.exists()


def test_a_mail_over_the_limit_is_kept_as_refused_with_its_headers(client, workspace, configured, settings):
    settings.INBOUND_EMAIL_MAX_BYTES = 20 * 1024
    response = client.post(URL, mailgun_post(make_mail(text=("x" * 70 + "\n") * 400)), **auth())
    assert response.status_code == 200  # taken: the provider must not retry it for ever
    record = InboundEmail.objects.get()
    assert record.status == InboundEmail.Status.REFUSED and "larger than INBOUND_EMAIL_MAX_BYTES" in record.reason
    assert record.subject == "Where is my order?" and record.workspace == workspace


def test_a_postmark_inbound_post_becomes_a_conversation(client, workspace, configured):
    """Postmark's inbound JSON, as parsed fields (no raw mail): Return-Path first in Headers."""
    payload = {
        "FromFull": {"Email": "carol@example.org", "Name": "Carol Customer"},
        "ToFull": [{"Email": "acme@mail.localhost", "Name": ""}],
        "OriginalRecipient": "acme@mail.localhost",
        "Subject": "Where is my order?",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "TextBody": "Hello from Postmark",
        "Headers": [
            {"Name": "Return-Path", "Value": "<carol@example.org>"},
            {"Name": "Message-ID", "Value": "<pm-1@example.org>"},
        ],
    }
    url = reverse("mail_webhooks:postmark")
    response = client.post(url, json.dumps(payload), content_type="application/json", **auth())
    assert response.status_code == 200
    record = InboundEmail.objects.get()
    assert (record.source, record.status, record.envelope_from) == (
        "webhook",
        InboundEmail.Status.PLACED,
        "carol@example.org",
    )
    assert record.message.body == "Hello from Postmark" and record.message_id_header == "<pm-1@example.org>"
    assert client.post(url, json.dumps(payload), content_type="application/json").status_code == 400  # no basic auth
    assert InboundEmail.objects.count() == 1
