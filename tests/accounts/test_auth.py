"""Signing in with an email address, signing out, and resetting a forgotten password."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from helpdesk.accounts.actions import LOGIN_EMAIL_SCOPE
from helpdesk.accounts.models import User
from helpdesk.lib import ratelimit
from tests.conftest import make_member
from tests.waiting import wait_for

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
RESET = reverse("accounts:password_reset")
PASSWORD = "pw-for-tests-1"


def signed_in_as(client) -> User | None:
    response = client.get(reverse("inbox:index"))
    if response.status_code != 200:
        return None
    return response.wsgi_request.user


def test_the_login_page_asks_for_an_email_address(client, db):
    page = client.get(LOGIN).content.decode()
    assert 'type="email" name="username"' in page
    assert 'type="password" name="password"' in page


def test_an_agent_signs_in_with_email_and_password(client, agent):
    response = client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox:index")
    assert signed_in_as(client) == agent


def test_signing_in_ignores_the_case_of_the_email_address(client, agent):
    response = client.post(LOGIN, {"username": "Agent@ACME.test", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_as(client) == agent


def test_signing_in_returns_to_the_page_asked_for(client, agent, conversation):
    target = reverse("inbox:conversation", args=[conversation.pk])
    response = client.post(
        f"{LOGIN}?next={target}", {"username": "agent@acme.test", "password": PASSWORD, "next": target}
    )
    assert response["Location"] == target


def test_signing_in_never_redirects_to_another_site(client, agent):
    response = client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD, "next": "https://evil.test/"})
    assert response["Location"] == reverse("inbox:index")


@pytest.mark.parametrize(
    ("email", "password"),
    [("agent@acme.test", "wrong-password"), ("nobody@acme.test", PASSWORD)],
    ids=["wrong password", "unknown email"],
)
def test_a_wrong_email_or_password_shows_an_error(client, agent, email, password):
    response = client.post(LOGIN, {"username": email, "password": password})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Please enter a correct email address and password" in page
    assert signed_in_as(client) is None


def test_a_deactivated_user_cannot_sign_in(client, agent):
    agent.is_active = False
    agent.save()
    client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD})
    assert signed_in_as(client) is None


def test_signing_out_is_a_post(agent_client):
    response = agent_client.post(LOGOUT)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert signed_in_as(agent_client) is None


def test_signing_out_by_get_is_refused(agent_client, agent):
    assert agent_client.get(LOGOUT).status_code == 405
    assert signed_in_as(agent_client) == agent


def test_changing_the_password_keeps_this_browser_signed_in_and_signs_out_every_other(agent):
    this, other = Client(), Client()
    for browser in (this, other):
        browser.post(LOGIN, {"username": agent.email, "password": PASSWORD})
        assert signed_in_as(browser) == agent
    response = this.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "a-brand-new-secret-9", "new_password2": "a-brand-new-secret-9"},
    )
    assert response["Location"] == reverse("accounts:password_change_done")
    assert signed_in_as(this) == agent
    assert signed_in_as(other) is None
    agent.refresh_from_db()
    assert agent.check_password("a-brand-new-secret-9")


def test_the_password_page_asks_for_the_old_password(agent_client):
    response = agent_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "a-wrong-guess",
            "new_password1": "a-brand-new-secret-9",
            "new_password2": "a-brand-new-secret-9",
        },
    )
    assert response.status_code == 200 and "Your old password was entered incorrectly" in response.content.decode()


def reset_link(message) -> str:
    return re.search(r"https?://testserver(/\S+)", message.body).group(1)


def test_a_password_reset_sends_a_link_that_sets_a_new_password(client, agent, ask_for_reset, deliver_resets):
    response = ask_for_reset(client, "agent@acme.test")
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []  # the email is the worker's job
    assert deliver_resets() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["agent@acme.test"]
    assert message.subject == "Reset your Helpdesk password"

    form = client.get(reset_link(message), follow=True)
    assert form.status_code == 200
    assert 'name="new_password1"' in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-brand-new-secret-9", "new_password2": "a-brand-new-secret-9"}
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")

    agent.refresh_from_db()
    assert agent.check_password("a-brand-new-secret-9")
    assert not agent.check_password(PASSWORD)
    client.post(LOGIN, {"username": "agent@acme.test", "password": "a-brand-new-secret-9"})
    assert signed_in_as(client) == agent


def test_a_reset_link_works_only_once(client, agent, ask_for_reset, deliver_resets):
    ask_for_reset(client, "agent@acme.test")
    deliver_resets()
    link = reset_link(mail.outbox[0])
    form = client.get(link, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "a-brand-new-secret-9", "new_password2": "a-brand-new-secret-9"}
    )
    again = client.get(link, follow=True)
    assert "This link is invalid or has already been used" in again.content.decode()
    assert 'name="new_password1"' not in again.content.decode()


def test_a_forged_reset_link_is_refused(client, agent):
    page = client.get(reverse("accounts:password_reset_confirm", args=["MQ", "forged-token"]), follow=True)
    assert "This link is invalid or has already been used" in page.content.decode()


def test_a_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(
    client, agent, ask_for_reset, deliver_resets
):
    response = ask_for_reset(client, "nobody@acme.test")
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert deliver_resets() == 0
    assert mail.outbox == []


# ---------------------------------------------------------------- guessing


def test_after_five_wrong_passwords_the_address_is_locked_even_with_the_right_one(client, agent, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for _ in range(5):
        assert client.post(LOGIN, {"username": "agent@acme.test", "password": "guess"}).status_code == 200
    response = client.post(LOGIN, {"username": "Agent@acme.test", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert signed_in_as(client) is None
    # Another address from another IP is not affected.
    other = Client(REMOTE_ADDR="10.0.0.9")
    make_member(agent.memberships.get().workspace, "colleague@acme.test")
    assert other.post(LOGIN, {"username": "colleague@acme.test", "password": PASSWORD}).status_code == 302


def test_the_lockout_ends_when_its_window_has_passed(client, agent, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(2):
        client.post(LOGIN, {"username": "agent@acme.test", "password": "guess"})
    assert client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code == 429
    wait_for(lambda: ratelimit.failures(LOGIN_EMAIL_SCOPE, "agent@acme.test") == 0, message="the counter to expire")
    assert client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code == 302


def test_one_ip_guessing_many_addresses_is_locked(client, agent, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 3
    for n in range(3):
        client.post(LOGIN, {"username": f"guess{n}@acme.test", "password": "guess"})
    assert client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code == 429
    assert (
        Client(REMOTE_ADDR="10.0.0.9").post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code
        == 302
    )


def test_a_successful_sign_in_clears_the_addresss_failures(client, agent, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        client.post(LOGIN, {"username": "agent@acme.test", "password": "guess"})
    assert client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code == 302
    client.post(LOGOUT)
    for _ in range(2):
        client.post(LOGIN, {"username": "agent@acme.test", "password": "guess"})
    assert client.post(LOGIN, {"username": "agent@acme.test", "password": PASSWORD}).status_code == 302


def test_the_admin_signs_in_through_the_same_guarded_page(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_admins_own_form_never_checks_a_password(client, agent, db):
    operator = User.objects.create_user("ops@acme.test", PASSWORD, name="Ops")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    client.force_login(agent)  # signed in, not staff: a guesser with an account
    response = client.post("/admin/login/?next=/admin/", {"username": "ops@acme.test", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert signed_in_as(client) == agent  # still the agent, not the operator
    page = client.get("/admin/login/?next=/admin/")  # told that the admin is for operators: no form
    html = page.content.decode()
    assert page.status_code == 403 and "manage.py createsuperuser" in html and 'name="password"' not in html


def test_an_operator_reaches_the_admin_through_the_sign_in_page(client, db):
    operator = User.objects.create_user("ops@acme.test", PASSWORD, name="Ops")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN)
    next_url = response.context["next"]
    response = client.post(LOGIN, {"username": "ops@acme.test", "password": PASSWORD, "next": next_url}, follow=True)
    assert response.status_code == 200 and response.request["PATH_INFO"] == "/admin/"
