"""Canned responses: admins keep them in the settings, agents fetch them from the reply box."""

from __future__ import annotations

import pytest
from django.test import Client

from helpdesk.accounts.models import Membership, User
from helpdesk.canned.models import CannedResponse
from helpdesk.workspace.models import Activity
from tests.conftest import make_member


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(workspace):
    return make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)


@pytest.fixture
def admin_client(admin):
    return signed_in(admin)


@pytest.fixture
def refund(workspace, owner):
    return CannedResponse.objects.create(
        workspace=workspace, shortcut="refund", text="Refunds take 5 days.", created_by=owner
    )


def snapshot():
    return list(
        CannedResponse.objects.order_by("pk").values_list("workspace_id", "shortcut", "text")
    ), Activity.objects.count()


# ---------------------------------------------------------------- who may manage them


def _urls(canned):
    return [
        ("get", "/settings/team/canned/", {}),
        ("post", "/settings/team/canned/", {"shortcut": "new", "text": "New text"}),
        ("get", f"/settings/team/canned/{canned.pk}/", {}),
        ("post", f"/settings/team/canned/{canned.pk}/", {"shortcut": "hacked", "text": "Hacked"}),
        ("post", f"/settings/team/canned/{canned.pk}/delete", {}),
    ]


def test_an_agent_gets_403_on_every_canned_settings_url_and_changes_nothing(agent_client, refund):
    before = snapshot()
    for method, url, data in _urls(refund):
        assert getattr(agent_client, method)(url, data).status_code == 403, url
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, refund):
    before = snapshot()
    for method, url, data in _urls(refund):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
    assert snapshot() == before


def test_an_admin_of_another_workspace_gets_404_on_this_workspaces_responses(outsider_client, refund):
    before = snapshot()
    for method, url, data in _urls(refund)[2:]:
        assert getattr(outsider_client, method)(url, data).status_code == 404, url
    assert snapshot() == before
    assert "Refunds take 5 days." not in outsider_client.get("/settings/team/canned/").content.decode()


# ---------------------------------------------------------------- create, edit, delete


def test_an_admin_adds_a_response_and_it_is_logged(admin_client, admin, workspace):
    response = admin_client.post(
        "/settings/team/canned/", {"shortcut": "/Shipping", "text": "We ship in 2 days."}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved /shipping" in html and "We ship in 2 days." in html and "<html" not in html
    canned = CannedResponse.objects.get()
    assert (canned.workspace, canned.shortcut, canned.text, canned.created_by) == (
        workspace,
        "shipping",
        "We ship in 2 days.",
        admin,
    )
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (admin, "canned.created", {"shortcut": "shipping"})


def test_an_admin_edits_a_response(admin_client, admin, refund):
    assert 'value="refund"' in admin_client.get(f"/settings/team/canned/{refund.pk}/").content.decode()
    response = admin_client.post(
        f"/settings/team/canned/{refund.pk}/", {"shortcut": "refund", "text": "Refunds take 3 days."}
    )
    assert response.status_code == 302 and response["Location"] == "/settings/team/canned/"
    refund.refresh_from_db()
    assert refund.text == "Refunds take 3 days."
    entry = Activity.objects.get()
    assert (entry.actor, entry.action) == (admin, "canned.updated")
    assert entry.detail["shortcut"] == "refund" and entry.detail["changed"] == {"text": "Refunds take 3 days."}
    assert entry.detail["before"] == {"text": "Refunds take 5 days."}
    assert "Saved /refund" in admin_client.get("/settings/team/canned/").content.decode()


def test_an_admin_deletes_a_response(admin_client, admin, refund):
    response = admin_client.post(f"/settings/team/canned/{refund.pk}/delete", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Deleted /refund" in response.content.decode()
    assert not CannedResponse.objects.exists()
    assert Activity.objects.filter(actor=admin, action="canned.deleted", detail={"shortcut": "refund"}).count() == 1


@pytest.mark.parametrize(
    "data,field,error",
    [
        ({"shortcut": "two words", "text": "x"}, "shortcut", "no spaces"),
        ({"shortcut": "", "text": "x"}, "shortcut", "required"),
        ({"shortcut": "/", "text": "x"}, "shortcut", "no spaces"),
        ({"shortcut": "-dash", "text": "x"}, "shortcut", "starting with a letter"),
        ({"shortcut": "café", "text": "x"}, "shortcut", "letters, digits"),
        ({"shortcut": "x" * 41, "text": "x"}, "shortcut", "at most 40"),
        ({"shortcut": "ok", "text": ""}, "text", "required"),
        ({"shortcut": "ok", "text": "x" * 5001}, "text", "at most 5000"),
        ({"shortcut": "REFUND", "text": "x"}, "shortcut", "already a canned response /refund"),
    ],
)
def test_bad_input_gets_an_inline_error_and_saves_nothing(admin_client, refund, data, field, error):
    before = snapshot()
    response = admin_client.post("/settings/team/canned/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html and "<html" not in html
    assert snapshot() == before


def test_an_edit_cannot_take_another_responses_shortcut(admin_client, refund, workspace):
    other = CannedResponse.objects.create(workspace=workspace, shortcut="shipping", text="2 days")
    before = snapshot()
    response = admin_client.post(f"/settings/team/canned/{other.pk}/", {"shortcut": "Refund", "text": "2 days"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-error-for="shortcut"' in html and "Edit /shipping" in html
    assert snapshot() == before


def test_another_workspace_may_use_the_same_shortcut(outsider_client, refund, other_workspace):
    response = outsider_client.post("/settings/team/canned/", {"shortcut": "refund", "text": "Our own policy."})
    assert response.status_code == 200
    assert CannedResponse.objects.filter(shortcut="refund").count() == 2


# ---------------------------------------------------------------- the reply box's list


@pytest.fixture
def responses(workspace, other_workspace):
    for shortcut in ("refund", "refund-late", "reset", "shipping"):
        CannedResponse.objects.create(workspace=workspace, shortcut=shortcut, text=f"Text of {shortcut}")
    CannedResponse.objects.create(workspace=other_workspace, shortcut="refund-globex", text="Globex secret")


def test_an_agent_gets_their_workspaces_responses_matching_the_start_of_the_shortcut(agent_client, responses):
    response = agent_client.get("/inbox/canned", {"q": "REF"})
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"shortcut": "refund", "text": "Text of refund"},
            {"shortcut": "refund-late", "text": "Text of refund-late"},
        ]
    }
    everything = agent_client.get("/inbox/canned").json()["results"]
    assert [r["shortcut"] for r in everything] == ["refund", "refund-late", "reset", "shipping"]


def test_the_list_never_shows_another_workspaces_responses(outsider_client, responses):
    assert outsider_client.get("/inbox/canned", {"q": "refund"}).json() == {
        "results": [{"shortcut": "refund-globex", "text": "Globex secret"}]
    }


def test_the_list_is_closed_to_anonymous_visitors_people_without_a_workspace_and_deactivated_members(
    client, agent, responses
):
    response = client.get("/inbox/canned", {"q": "re"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert signed_in(User.objects.create_user("loner@nowhere.test", "pw")).get("/inbox/canned").status_code == 404
    Membership.objects.filter(user=agent).update(is_active=False)
    assert signed_in(agent).get("/inbox/canned").status_code == 404


def test_the_reply_box_knows_where_to_fetch_the_list(agent_client, conversation):
    html = agent_client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert 'data-canned-url="/inbox/canned"' in html
