"""The public help pages (/help/<public id>/), from the side of someone walking them: an
article's address is random and unguessable, never its number; a page is served only while
its article is enabled and on the widget channel (an article without channels is on every
channel, as retrieval has it)."""

from __future__ import annotations

import re

import pytest

from helpdesk.knowledge import actions
from helpdesk.knowledge.models import Article
from tests.conftest import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(workspace, other_workspace):
    return {
        "ours": actions.create_article(workspace, title="Returns policy", body="Send it back within 30 days."),
        "theirs": actions.create_article(other_workspace, title="Globex pricing", body="Secret-ish discount codes."),
        "draft": actions.create_article(workspace, title="Unreleased plan", body="Not yet.", enabled=False),
    }


def test_counting_article_numbers_finds_nothing(client, articles):
    last = Article.objects.order_by("-pk").first().pk
    for number in range(last + 20):
        response = client.get(f"/help/{number}/")
        assert response.status_code == 404, number
        assert b"Returns policy" not in response.content and b"Globex pricing" not in response.content


def test_public_ids_are_long_random_distinct_and_never_change(workspace, articles):
    ids = [a.public_id for a in Article.objects.all()]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)
    ours = articles["ours"]
    before = ours.public_id
    ours = actions.update(ours, title="Returns", body="Within 60 days.", channels=["widget"], url="https://acme.test/r")
    actions.disable(ours)
    actions.enable(ours)
    assert Article.objects.get(pk=ours.pk).public_id == before


def test_the_public_page_is_found_by_its_public_id(client, articles):
    page = client.get(f"/help/{articles['ours'].public_id}/")
    assert page.status_code == 200
    assert "Returns policy" in page.content.decode() and "Send it back within 30 days." in page.content.decode()


def test_another_workspaces_public_id_opens_only_its_public_page(client, workspace, articles):
    admin = make_member(workspace, "admin@acme.test", "admin")
    client.force_login(admin)
    theirs = articles["theirs"]
    page = client.get(f"/help/{theirs.public_id}/")
    assert page.status_code == 200 and "Globex pricing" in page.content.decode()  # public, as to anyone
    for method, url in [
        ("get", f"/settings/knowledge/article/{theirs.public_id}/"),
        ("post", f"/settings/knowledge/article/{theirs.public_id}/disable"),
        ("post", f"/settings/knowledge/article/{theirs.public_id}/delete"),
    ]:
        assert getattr(client, method)(url).status_code == 404, url
    theirs.refresh_from_db()
    assert theirs.enabled


def test_a_disabled_article_is_not_served(client, articles):
    assert client.get(f"/help/{articles['draft'].public_id}/").status_code == 404
    ours = actions.disable(articles["ours"])
    assert client.get(f"/help/{ours.public_id}/").status_code == 404
    actions.enable(ours)
    assert client.get(f"/help/{ours.public_id}/").status_code == 200


def test_an_article_on_other_channels_only_is_not_served_and_one_without_channels_is(client, articles):
    ours = articles["ours"]
    Article.objects.filter(pk=ours.pk).update(channels=["email"])
    assert client.get(f"/help/{ours.public_id}/").status_code == 404
    Article.objects.filter(pk=ours.pk).update(channels=[])
    assert client.get(f"/help/{ours.public_id}/").status_code == 200


def test_a_made_up_or_malformed_public_id_is_404(client, articles):
    for candidate in ["A" * 22, articles["ours"].public_id[:-1], "..%2F..%2Fadmin", "' OR 1=1 --"]:
        assert client.get(f"/help/{candidate}/").status_code == 404, candidate
