"""The password reset form from the side of someone who abuses it: bombing an address with
reset emails, probing which addresses have accounts, hammering from one IP; and from the side
of the locked-out agent whom the lockout told to reset."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from helpdesk.accounts.models import User
from tests.conftest import make_member

LOGIN = reverse("accounts:login")
PASSWORD = "pw-for-tests-1"
NEW_PASSWORD = "a-brand-new-secret-9"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 3
    settings.PASSWORD_RESET_LIMIT_PER_IP = 5


def without_csrf(html: str) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def from_ip(n: int) -> Client:
    return Client(REMOTE_ADDR=f"10.1.{n // 250}.{n % 250 + 1}")


def test_an_address_bombed_with_reset_requests_gets_a_few_emails_and_every_answer_is_the_same(
    agent, ask_for_reset, deliver_resets
):
    answers = {
        (r.status_code, r["Location"]) for r in (ask_for_reset(from_ip(n), "agent@acme.test") for n in range(20))
    }
    assert answers == {(302, reverse("accounts:password_reset_done"))}
    assert deliver_resets() == 3
    assert [m.to for m in mail.outbox] == [["agent@acme.test"]] * 3


def test_the_limit_counts_the_address_whatever_its_case(agent, ask_for_reset, deliver_resets):
    for n, email in enumerate(
        ["agent@acme.test", "AGENT@acme.test", "Agent@Acme.Test", " agent@acme.test", "aGeNt@acme.test"]
    ):
        ask_for_reset(from_ip(n), email)
    assert deliver_resets() == 3


def test_past_the_limit_a_known_address_looks_exactly_like_an_unknown_one(client, agent, ask_for_reset, deliver_resets):
    for n in range(3):
        ask_for_reset(from_ip(n), "agent@acme.test")
    over = ask_for_reset(from_ip(10), "agent@acme.test")
    unknown = ask_for_reset(from_ip(11), "nobody@acme.test")
    assert (over.status_code, over["Location"]) == (unknown.status_code, unknown["Location"])
    page = without_csrf(from_ip(10).get(over["Location"]).content.decode())
    assert page == without_csrf(from_ip(11).get(unknown["Location"]).content.decode())
    assert "If an account exists for that address" in page
    assert deliver_resets() == 3


def test_one_ip_asking_again_and_again_gets_429_with_a_clear_text_and_no_email(
    client, agent, ask_for_reset, deliver_resets
):
    for n in range(5):
        assert ask_for_reset(client, f"guess{n}@acme.test").status_code == 302
    refused = ask_for_reset(client, "agent@acme.test")
    assert refused.status_code == 429
    assert "Too many password reset requests from your network" in refused.content.decode()
    assert deliver_resets() == 0
    # another network is not affected
    assert ask_for_reset(from_ip(99), "agent@acme.test").status_code == 302
    assert deliver_resets() == 1


def test_a_completed_reset_lifts_the_sign_in_lockout_that_told_the_agent_to_reset(
    client, agent, settings, ask_for_reset, deliver_resets
):
    settings.LOGIN_FAILURE_LIMIT = 5
    for _ in range(5):
        from_ip(50).post(LOGIN, {"username": "agent@acme.test", "password": "a-guess"})  # someone guessing
    locked = client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD})
    assert locked.status_code == 429 and "reset your password" in locked.content.decode()

    ask_for_reset(client, "agent@acme.test")
    deliver_resets()
    link = mail.outbox[0].body.split("http://testserver", 1)[1].split()[0]
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert client.post(LOGIN, {"username": "agent@acme.test", "password": NEW_PASSWORD}).status_code == 302


def test_the_email_is_not_sent_to_an_account_deactivated_after_it_was_asked_for(
    client, agent, ask_for_reset, deliver_resets
):
    ask_for_reset(client, "agent@acme.test")
    User.objects.filter(pk=agent.pk).update(is_active=False)
    deliver_resets()
    assert mail.outbox == []


def test_other_addresses_are_not_held_up_by_a_bombed_one(agent, workspace, ask_for_reset, deliver_resets):
    make_member(workspace, "colleague@acme.test")
    for n in range(10):
        ask_for_reset(from_ip(n), "agent@acme.test")
    ask_for_reset(from_ip(20), "colleague@acme.test")
    deliver_resets()
    assert sum(m.to == ["colleague@acme.test"] for m in mail.outbox) == 1
