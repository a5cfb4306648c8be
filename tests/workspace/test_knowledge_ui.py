"""The knowledge settings: owners and admins manage articles, FAQ entries and documents;
bad input is refused inline and changes nothing; every change is logged; agents and other
workspaces' admins cannot see or touch any of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from helpdesk.accounts.models import Membership
from helpdesk.knowledge import forms as knowledge_forms
from helpdesk.knowledge.models import FAQ, Article, Document, IndexStatus
from helpdesk.knowledge.tasks import index_article, index_document, index_faq
from helpdesk.workspace.models import Activity
from tests.conftest import make_member
from tests.knowledge import files
from tests.knowledge.conftest import add_article, add_faq

BASE = "/settings/knowledge/"
HTMX = {"HTTP_HX_REQUEST": "true"}
FROM_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "knowledge-list"}
KINDS = ["article", "faq", "document"]

URLS = [
    ("get", BASE),
    ("get", BASE + "article/new"),
    ("post", BASE + "article/new"),
    ("post", BASE + "article/preview"),
    ("get", BASE + "faq/new"),
    ("post", BASE + "faq/new"),
    ("get", BASE + "document/new"),
    ("post", BASE + "document/new"),
    ("post", BASE + "bulk"),
    ("post", BASE + "faq/{faq}/move"),
    *[(method, BASE + f"{kind}/{{{kind}}}/") for kind in KINDS for method in ("get", "post")],
    *[("get", BASE + f"{kind}/{{{kind}}}/row") for kind in KINDS],
    *[
        ("post", BASE + f"{kind}/{{{kind}}}/{op}")
        for kind in KINDS
        for op in ("enable", "disable", "reindex", "delete")
    ],
]
ITEM_URLS = [(method, url) for method, url in URLS if "{" in url]

ARTICLE = {
    "title": "Returns",
    "url": "https://acme.test/returns",
    "channels": ["widget"],
    "enabled": "on",
    "body": "Send it back within **30 days**.",
}
FAQ_ENTRY = {"question": "Do you ship abroad?", "answer": "Yes, to the EU.", "order": "3", "active": "on"}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _no_embeddings(settings):
    settings.EMBEDDING_PROVIDER = "none"


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def add_document(workspace, title: str, name: str = "hours.txt", data: bytes = b"Open 9 to 5.", **fields) -> Document:
    document = Document(workspace=workspace, title=title, content_type="text/plain", **fields)
    document.file.save(name, ContentFile(data), save=True)
    return document


@pytest.fixture
def items(workspace):
    """One ready item of each kind in the workspace."""
    document = add_document(workspace, "Opening hours")
    index_document.call(document.pk)
    return {
        "article": add_article(workspace, "Returns", "Send it back within 30 days."),
        "faq": add_faq(workspace, "Do you ship abroad?", "Yes, to the EU."),
        "document": Document.objects.get(pk=document.pk),
    }


def url_for(url: str, items: dict) -> str:
    return url.format(**{kind: item.pk for kind, item in items.items()})


def state() -> tuple:
    """Everything a knowledge page could change."""
    return (
        list(Article.objects.order_by("pk").values()),
        list(FAQ.objects.order_by("pk").values()),
        list(Document.objects.order_by("pk").values()),
        list(Activity.objects.order_by("pk").values_list("action", flat=True)),
    )


def payload(items: dict) -> dict:
    """A post that each form would accept, to prove refusals are not about the input."""
    return {
        **ARTICLE,
        **FAQ_ENTRY,
        "action": "delete",
        "direction": "down",
        "selected": [f"{kind}:{item.pk}" for kind, item in items.items()],
        "file": SimpleUploadedFile("notes.txt", b"Some notes."),
    }


def rows(html: str) -> list[str]:
    """The ids of the list's rows, in order."""
    return re.findall(r'<tr id="((?:article|faq|document)-\d+)"', html)


def actions_logged() -> list[str]:
    return list(Activity.objects.order_by("pk").values_list("action", flat=True))


# ---------------------------------------------------------------- who may do what


@pytest.mark.parametrize("method,url", URLS)
def test_an_agent_gets_403_on_every_url_and_nothing_changes(agent_client, items, method, url):
    before = state()
    response = getattr(agent_client, method)(url_for(url, items), payload(items) if method == "post" else None)
    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize("method,url", URLS)
def test_anonymous_users_are_sent_to_sign_in(client, items, method, url):
    before = state()
    response = getattr(client, method)(url_for(url, items))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert state() == before


@pytest.mark.parametrize("method,url", ITEM_URLS)
def test_an_admin_of_another_workspace_gets_404_on_this_workspaces_items(outsider_client, items, method, url):
    before = state()
    response = getattr(outsider_client, method)(url_for(url, items), payload(items) if method == "post" else None)
    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("action", ["enable", "disable", "delete"])
def test_bulk_actions_with_another_workspaces_ids_change_nothing(outsider_client, items, action):
    Article.objects.filter(pk=items["article"].pk).update(enabled=False)
    before = state()
    selected = [f"{kind}:{item.pk}" for kind, item in items.items()]
    response = outsider_client.post(BASE + "bulk", {"action": action, "selected": selected}, **FROM_LIST)
    assert response.status_code == 200
    assert "Select some items first" in response.content.decode()
    assert state() == before


def test_another_workspaces_items_are_not_listed(outsider_client, items):
    html = outsider_client.get(BASE).content.decode()
    assert rows(html) == [] and "Returns" not in html and "Do you ship abroad?" not in html


def test_posts_without_csrf_are_refused(owner, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(BASE + "article/new", ARTICLE).status_code == 403
    assert not Article.objects.exists()


def test_admins_find_knowledge_in_the_settings_menu(owner_client):
    html = owner_client.get("/settings/widget/").content.decode()
    assert f'href="{BASE}"' in html and "Knowledge" in html


# ---------------------------------------------------------------- the list


def test_the_list_shows_each_items_type_status_progress_and_error(owner_client, workspace):
    add_article(workspace, "Returns", "Send it back.")
    Article.objects.create(workspace=workspace, title="Warranty", body="Two years.", progress=40)
    add_faq(workspace, "Do you ship abroad?", "Yes.")
    add_document(
        workspace,
        "Scanned manual",
        name="manual.pdf",
        status=IndexStatus.ERROR,
        status_detail="The PDF has no text layer (a scan?); upload a text PDF.",
    )
    response = owner_client.get(BASE)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ["Returns", "Warranty", "Do you ship abroad?", "Scanned manual", "manual.pdf"]:
        assert text in html
    assert ">Ready<" in html and ">Processing<" in html and ">Error<" in html
    assert 'value="40" max="100"' in html and "40%" in html
    assert "The PDF has no text layer (a scan?); upload a text PDF." in html
    assert ">Retry</button>" in html  # for the item in error only
    assert html.count(">Retry</button>") == 1


def test_search_matches_titles_and_questions_whatever_the_case(owner_client, workspace):
    article = add_article(workspace, "Returns policy", "Body mentions shipping.")
    faq = add_faq(workspace, "How long do RETURNS take?", "A week.")
    add_article(workspace, "Warranty", "Nothing about it.")
    add_document(workspace, "Return labels")
    html = owner_client.get(BASE, {"q": "returns"}).content.decode()
    assert set(rows(html)) == {f"article-{article.pk}", f"faq-{faq.pk}"}
    html = owner_client.get(BASE, {"q": "shipping"}).content.decode()  # titles and questions only
    assert rows(html) == [] and "Nothing matches these filters." in html


@pytest.mark.parametrize(
    "filters,expected",
    [
        ({"type": "article"}, {"ready article", "disabled article", "processing article"}),
        ({"type": "faq"}, {"faq in error"}),
        ({"type": "document"}, {"document"}),
        ({"status": "processing"}, {"processing article"}),
        ({"status": "error"}, {"faq in error"}),
        ({"status": "ready"}, {"ready article", "disabled article", "document"}),
        ({"enabled": "no"}, {"disabled article"}),
        ({"enabled": "yes", "type": "article"}, {"ready article", "processing article"}),
        (
            {"type": "bogus", "status": "bogus"},
            {"ready article", "disabled article", "processing article", "faq in error", "document"},
        ),
    ],
)
def test_the_list_filters_by_type_status_and_enabled(owner_client, workspace, filters, expected):
    names = {
        "ready article": f"article-{add_article(workspace, 'A', 'a').pk}",
        "disabled article": f"article-{add_article(workspace, 'B', 'b', enabled=False).pk}",
        "processing article": f"article-{Article.objects.create(workspace=workspace, title='C').pk}",
        "faq in error": f"faq-{FAQ.objects.create(workspace=workspace, question='D?', answer='d', status=IndexStatus.ERROR).pk}",
        "document": f"document-{add_document(workspace, 'E', status=IndexStatus.READY).pk}",
    }
    html = owner_client.get(BASE, filters, **HTMX).content.decode()
    assert "<html" not in html  # the list partial, swapped in by htmx
    assert set(rows(html)) == {names[n] for n in expected}


def test_a_history_restore_gets_the_whole_page(owner_client, items):
    html = owner_client.get(
        BASE, {"type": "faq"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    ).content.decode()
    assert "<html" in html and 'id="knowledge-filters"' in html and rows(html) == [f"faq-{items['faq'].pk}"]


def test_the_list_is_paginated_50_to_a_page_newest_change_first(owner_client, workspace):
    Article.objects.bulk_create(Article(workspace=workspace, title=f"Article {n}") for n in range(52))
    first = owner_client.get(BASE).content.decode()
    assert len(rows(first)) == 50 and "Page 1 of 2" in first and "52 items" in first
    second = owner_client.get(BASE, {"page": 2}).content.decode()
    assert len(rows(second)) == 2
    assert set(rows(first)).isdisjoint(rows(second))
    newest = Article.objects.order_by("-updated_at", "-id").first()
    assert rows(first)[0] == f"article-{newest.pk}"


def test_a_processing_row_refreshes_itself_until_it_is_ready(owner_client, workspace):
    article = Article.objects.create(workspace=workspace, title="Returns", body="Within 30 days.", progress=60)
    html = owner_client.get(BASE).content.decode()
    row_url = f"{BASE}article/{article.pk}/row"
    assert f'hx-get="{row_url}"' in html and 'hx-trigger="every 2s"' in html
    polled = owner_client.get(row_url, **HTMX).content.decode()
    assert polled.lstrip().startswith(f'<tr id="article-{article.pk}"') and "60%" in polled and "every 2s" in polled
    index_article.call(article.pk)
    polled = owner_client.get(row_url, **HTMX).content.decode()
    assert ">Ready<" in polled and "every 2s" not in polled and "hx-get" not in polled.split(">", 1)[0]


# ---------------------------------------------------------------- articles


def test_an_admin_creates_an_article_that_is_indexed_after_commit(
    client, workspace, enqueued, django_capture_on_commit_callbacks
):
    admin = make_member(workspace, "admin@acme.test", Membership.Role.ADMIN)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(BASE + "article/new", ARTICLE, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == BASE + "?type=article"
    article = Article.objects.get(workspace=workspace)
    assert (article.title, article.url, article.channels, article.enabled) == (
        "Returns",
        "https://acme.test/returns",
        ["widget"],
        True,
    )
    assert article.status == IndexStatus.PROCESSING
    assert enqueued == [(index_article.name, (article.pk,))]
    entry = Activity.objects.get(workspace=workspace)
    assert (entry.actor, entry.action, entry.detail) == (
        admin,
        "knowledge.article_created",
        {"id": article.pk, "title": "Returns"},
    )
    listed = client.get(BASE + "?type=article").content.decode()
    assert "“Returns” is saved" in listed and f"article-{article.pk}" in listed and ">Processing<" in listed


def test_an_admin_edits_an_article_and_only_what_changed_is_logged(
    owner_client, workspace, owner, enqueued, django_capture_on_commit_callbacks
):
    article = add_article(workspace, "Returns", "Send it back within 30 days.", url="https://acme.test/returns")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"{BASE}article/{article.pk}/", {**ARTICLE, "body": "Send it back within 60 days."}, **HTMX
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved. It is being indexed again." in html and "<html" not in html
    article.refresh_from_db()
    assert article.body == "Send it back within 60 days." and article.status == IndexStatus.PROCESSING
    assert enqueued == [(index_article.name, (article.pk,))]
    entry = Activity.objects.get()
    assert (entry.actor, entry.action) == (owner, "knowledge.article_updated")
    assert entry.detail == {
        "id": article.pk,
        "title": "Returns",
        "changed": {"body": "Send it back within 60 days."},
        "before": {"body": "Send it back within 30 days."},
    }


def test_the_edit_page_shows_the_article_its_status_and_a_rendered_preview(owner_client, workspace):
    article = add_article(workspace, "Returns", "## Steps\n\n1. Pack it\n2. Send it")
    html = owner_client.get(f"{BASE}article/{article.pk}/").content.decode()
    assert 'value="Returns"' in html and ">Ready<" in html
    assert "<h2>Steps</h2>" in html and "<li>Pack it</li>" in html
    assert f'hx-post="{BASE}article/preview"' in html


def test_the_preview_renders_markdown_on_the_server(owner_client):
    response = owner_client.post(
        BASE + "article/preview", {"body": "**Bold** and [a link](https://acme.test/x)"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Bold</strong>" in html and 'href="https://acme.test/x"' in html and "<html" not in html


def test_the_preview_strips_scripts_and_javascript_links(owner_client):
    body = "<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n<img src=x onerror=alert(2)>\n\n<a href=\"JaVaScRiPt:alert(3)\">y</a>"
    html = owner_client.post(BASE + "article/preview", {"body": body}, **HTMX).content.decode()
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert "onerror" not in html and "alert" not in html
    assert "click" in html


@pytest.mark.parametrize(
    "op,enabled_after,action",
    [("disable", False, "knowledge.article_disabled"), ("enable", True, "knowledge.article_enabled")],
)
def test_an_article_is_enabled_and_disabled_from_the_list(owner_client, workspace, owner, op, enabled_after, action):
    article = add_article(workspace, "Returns", "Text.", enabled=not enabled_after)
    response = owner_client.post(f"{BASE}article/{article.pk}/{op}?type=article", **FROM_LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="knowledge-list"') and f"article-{article.pk}" in html
    article.refresh_from_db()
    assert article.enabled is enabled_after
    assert article.status == (IndexStatus.PROCESSING if enabled_after else IndexStatus.READY)
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail["id"]) == (owner, action, article.pk)


def test_without_htmx_a_row_action_redirects_back_to_the_same_list(owner_client, workspace):
    article = add_article(workspace, "Returns", "Text.")
    response = owner_client.post(f"{BASE}article/{article.pk}/disable?type=article&q=ret")
    assert response.status_code == 302 and response["Location"] == BASE + "?q=ret&type=article"


@pytest.mark.parametrize("kind,data", [("article", ARTICLE), ("faq", FAQ_ENTRY)])
def test_without_javascript_saving_redirects_so_a_reload_posts_nothing_again(owner_client, workspace, kind, data):
    """Post/Redirect/Get: a new item goes to the list, a saved edit back to its own page, each
    with its message in the page's toasts; the browser's reload then only reads."""
    created = owner_client.post(f"{BASE}{kind}/new", data)
    assert created.status_code == 302 and created["Location"] == f"{BASE}?type={kind}"
    assert "is saved. It is being indexed." in owner_client.get(created["Location"]).content.decode()
    item = (Article if kind == "article" else FAQ).objects.get(workspace=workspace)
    changed = {**data, "title": "Returns and refunds"} if kind == "article" else {**data, "answer": "Yes, everywhere."}
    saved = owner_client.post(f"{BASE}{kind}/{item.pk}/", changed)
    assert saved.status_code == 302 and saved["Location"] == f"{BASE}{kind}/{item.pk}/"
    page = owner_client.get(saved["Location"]).content.decode()
    assert "Saved. It is being indexed again." in page and 'id="toasts"' in page
    assert Activity.objects.filter(workspace=workspace).count() == 2


BAD_ARTICLES = [
    ("title", "", "required"),
    ("title", "x" * 501, "at most 500"),
    ("url", "not a url", "valid URL"),
    ("url", "javascript:alert(1)", "valid URL"),
    ("url", "https://acme.test/" + "x" * 2000, "at most 2000"),
    ("channels", ["fax"], "valid choice"),
]


@pytest.mark.parametrize("field,value,error", BAD_ARTICLES)
def test_a_bad_new_article_gets_an_inline_error_and_creates_nothing(owner_client, workspace, field, value, error):
    response = owner_client.post(BASE + "article/new", {**ARTICLE, field: value}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'data-error-for="{field}"' in html and error in html and "<html" not in html
    assert not Article.objects.exists() and not Activity.objects.exists()


@pytest.mark.parametrize("field,value,error", BAD_ARTICLES)
def test_a_bad_article_edit_gets_an_inline_error_and_changes_nothing(
    owner_client, workspace, items, field, value, error
):
    before = state()
    response = owner_client.post(f"{BASE}article/{items['article'].pk}/", {**ARTICLE, field: value}, **HTMX)
    assert response.status_code == 422
    assert f'data-error-for="{field}"' in response.content.decode()
    assert state() == before


# ---------------------------------------------------------------- FAQ


def test_an_admin_adds_an_faq_entry_after_the_last_one(
    owner_client, workspace, owner, enqueued, django_capture_on_commit_callbacks
):
    add_faq(workspace, "Where are you?", "Berlin.", order=4)
    form = owner_client.get(BASE + "faq/new").content.decode()
    assert 'name="order" value="5"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(BASE + "faq/new", FAQ_ENTRY, **HTMX)
    assert response["HX-Redirect"] == BASE + "?type=faq"
    faq = FAQ.objects.get(question="Do you ship abroad?")
    assert (faq.answer, faq.order, faq.active, faq.status) == ("Yes, to the EU.", 3, True, IndexStatus.PROCESSING)
    assert enqueued == [(index_faq.name, (faq.pk,))]
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (
        owner,
        "knowledge.faq_created",
        {"id": faq.pk, "question": "Do you ship abroad?"},
    )


def test_an_admin_edits_an_faq_entry(owner_client, workspace, owner):
    faq = add_faq(workspace, "Do you ship abroad?", "Yes.")
    response = owner_client.post(
        f"{BASE}faq/{faq.pk}/", {**FAQ_ENTRY, "answer": "Yes, worldwide.", "active": ""}, **HTMX
    )
    assert response.status_code == 200
    faq.refresh_from_db()
    assert (faq.answer, faq.order, faq.active) == ("Yes, worldwide.", 3, False)
    entry = Activity.objects.get()
    assert entry.action == "knowledge.faq_updated"
    assert entry.detail["changed"] == {"answer": "Yes, worldwide.", "order": 3, "active": False}


def test_a_duplicate_question_whatever_the_case_gets_an_inline_error(owner_client, workspace):
    add_faq(workspace, "Do you ship abroad?", "Yes.")
    response = owner_client.post(BASE + "faq/new", {**FAQ_ENTRY, "question": "  DO YOU SHIP ABROAD?  "}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-error-for="question"' in html and "already an FAQ entry with this question" in html
    assert FAQ.objects.count() == 1 and not Activity.objects.exists()


def test_renaming_an_faq_entry_to_another_ones_question_is_refused(owner_client, workspace):
    add_faq(workspace, "Do you ship abroad?", "Yes.")
    other = add_faq(workspace, "Where are you?", "Berlin.")
    before = state()
    response = owner_client.post(f"{BASE}faq/{other.pk}/", {**FAQ_ENTRY, "question": "do you ship abroad?"}, **HTMX)
    assert response.status_code == 422 and "already an FAQ entry" in response.content.decode()
    assert state() == before


def test_the_same_question_in_another_workspace_or_the_entry_itself_is_fine(owner_client, workspace, other_workspace):
    add_faq(other_workspace, "Do you ship abroad?", "No.")
    faq = add_faq(workspace, "Do you ship abroad?", "Yes.")
    response = owner_client.post(f"{BASE}faq/{faq.pk}/", {**FAQ_ENTRY, "question": "Do you ship ABROAD?"}, **HTMX)
    assert response.status_code == 200
    faq.refresh_from_db()
    assert faq.question == "Do you ship ABROAD?"


def test_a_question_saved_meanwhile_is_an_inline_error_not_a_500(owner_client, workspace, monkeypatch):
    add_faq(workspace, "Do you ship abroad?", "Yes.")
    monkeypatch.setattr(knowledge_forms.FAQForm, "clean_question", lambda self: self.cleaned_data["question"])
    response = owner_client.post(BASE + "faq/new", {**FAQ_ENTRY, "question": "DO YOU SHIP ABROAD?"}, **HTMX)
    assert response.status_code == 422 and "already an FAQ entry" in response.content.decode()
    assert FAQ.objects.count() == 1 and not Activity.objects.exists()


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("question", "", "required"),
        ("question", "x" * 501, "at most 500"),
        ("answer", "", "required"),
        ("order", "first", "whole number"),
    ],
)
def test_a_bad_faq_entry_gets_an_inline_error_and_changes_nothing(owner_client, workspace, items, field, value, error):
    before = state()
    for url in (BASE + "faq/new", f"{BASE}faq/{items['faq'].pk}/"):
        response = owner_client.post(url, {**FAQ_ENTRY, "question": "Something new?", field: value}, **HTMX)
        assert response.status_code == 422
        html = response.content.decode()
        assert f'data-error-for="{field}"' in html and error in html
    assert state() == before


def test_faq_entries_move_up_and_down_in_the_faq_list(owner_client, workspace, owner):
    first, second, third = (add_faq(workspace, f"Question {n}?", "Answer.") for n in (1, 2, 3))  # all order 0
    listed = owner_client.get(BASE, {"type": "faq"}).content.decode()
    assert rows(listed) == [f"faq-{first.pk}", f"faq-{second.pk}", f"faq-{third.pk}"]
    assert f'hx-post="{BASE}faq/{third.pk}/move?type=faq"' in listed
    response = owner_client.post(f"{BASE}faq/{third.pk}/move?type=faq", {"direction": "up"}, **FROM_LIST)
    assert rows(response.content.decode()) == [f"faq-{first.pk}", f"faq-{third.pk}", f"faq-{second.pk}"]
    owner_client.post(f"{BASE}faq/{first.pk}/move?type=faq", {"direction": "down"}, **FROM_LIST)
    assert list(FAQ.objects.order_by("order", "id").values_list("pk", flat=True)) == [third.pk, first.pk, second.pk]
    assert actions_logged() == ["knowledge.faq_moved", "knowledge.faq_moved"]
    assert Activity.objects.first().detail == {
        "id": first.pk,
        "question": "Question 1?",
        "direction": "down",
        "order": 1,
    }
    assert all(f.status == IndexStatus.READY for f in FAQ.objects.all())  # the order is not content


def test_moving_the_first_entry_up_changes_nothing(owner_client, workspace):
    first = add_faq(workspace, "Question 1?", "Answer.", order=0)
    add_faq(workspace, "Question 2?", "Answer.", order=1)
    before = state()
    assert owner_client.post(f"{BASE}faq/{first.pk}/move", {"direction": "up"}, **FROM_LIST).status_code == 200
    assert state() == before
    assert owner_client.post(f"{BASE}faq/{first.pk}/move", {"direction": "sideways"}, **FROM_LIST).status_code == 400


# ---------------------------------------------------------------- documents


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("hours.txt", b"Open 9 to 5.", "text/plain"),
        ("guide.md", b"# Guide\n\nRead me.", "text/markdown"),
        ("page.html", b"<h1>Page</h1><p>Hello.</p>", "text/html"),
        ("manual.pdf", files.pdf(["Press the red button."]), "application/pdf"),
    ],
)
def test_an_admin_uploads_a_document_that_is_indexed_after_commit(
    owner_client, workspace, owner, enqueued, django_capture_on_commit_callbacks, name, data, content_type
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            BASE + "document/new", {"file": SimpleUploadedFile(name, data), "title": ""}, **HTMX
        )
    assert response.status_code == 200 and response["HX-Redirect"] == BASE + "?type=document"
    document = Document.objects.get(workspace=workspace)
    assert document.title == Path(name).stem and document.content_type == content_type and document.filename == name
    assert document.status == IndexStatus.PROCESSING
    assert enqueued == [(index_document.name, (document.pk,))]
    index_document.call(document.pk)
    document.refresh_from_db()
    assert (document.status, document.progress) == (IndexStatus.READY, 100)
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail) == (
        owner,
        "knowledge.document_created",
        {"id": document.pk, "title": document.title, "file": name},
    )
    listed = owner_client.get(BASE, {"type": "document"}).content.decode()
    assert ">Ready<" in listed and name in listed


def test_the_upload_form_says_which_files_are_accepted(owner_client, settings):
    settings.KNOWLEDGE_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
    html = owner_client.get(BASE + "document/new").content.decode()
    assert ".pdf" in html and ".txt" in html and "5.0\xa0MB" in html
    assert 'enctype="multipart/form-data"' in html


@pytest.mark.parametrize(
    "upload,error",
    [
        (lambda: SimpleUploadedFile("setup.exe", b"MZ"), "Unsupported file type .exe"),
        (lambda: SimpleUploadedFile("README", b"Hello."), "Unsupported file type (none)"),
        (lambda: SimpleUploadedFile("big.txt", b"x" * 2049), "too large (2.0\xa0KB): the limit is 2.0\xa0KB"),
        (lambda: SimpleUploadedFile("empty.txt", b""), "The submitted file is empty"),
        (lambda: "", "This field is required"),
    ],
)
def test_a_bad_upload_gets_an_inline_error_and_creates_nothing(owner_client, settings, upload, error):
    settings.KNOWLEDGE_DOCUMENT_MAX_BYTES = 2048
    response = owner_client.post(BASE + "document/new", {"file": upload(), "title": "Doc"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-error-for="file"' in html and error in html and "<html" not in html
    assert not Document.objects.exists() and not Activity.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_an_oversized_title_is_refused(owner_client):
    response = owner_client.post(
        BASE + "document/new", {"file": SimpleUploadedFile("a.txt", b"Hi."), "title": "x" * 501}, **HTMX
    )
    assert response.status_code == 422 and 'data-error-for="title"' in response.content.decode()
    assert not Document.objects.exists()


def test_a_document_in_error_shows_why_and_can_be_retried(
    owner_client, workspace, owner, enqueued, django_capture_on_commit_callbacks
):
    document = add_document(workspace, "Manual", name="manual.pdf", data=b"not a pdf at all")
    index_document.call(document.pk)
    document.refresh_from_db()
    assert document.status == IndexStatus.ERROR and document.status_detail
    listed = owner_client.get(BASE).content.decode()
    assert document.status_detail in listed
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{BASE}document/{document.pk}/reindex", **FROM_LIST)
    assert response.status_code == 200 and "is being indexed again" in response.content.decode()
    document.refresh_from_db()
    assert (document.status, document.status_detail) == (IndexStatus.PROCESSING, "")
    assert enqueued == [(index_document.name, (document.pk,))]
    assert actions_logged() == ["knowledge.document_reindexed"]


def test_an_admin_renames_a_document_and_replaces_its_file(owner_client, workspace, django_capture_on_commit_callbacks):
    document = add_document(workspace, "Hours")
    old_file = document.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"{BASE}document/{document.pk}/",
            {
                "title": "Opening hours",
                "enabled": "on",
                "file": SimpleUploadedFile("hours.md", b"# Hours\n\nOpen 8 to 6."),
            },
            **HTMX,
        )
    assert response.status_code == 200
    document.refresh_from_db()
    assert (document.title, document.filename, document.content_type) == ("Opening hours", "hours.md", "text/markdown")
    assert not document.file.storage.exists(old_file)
    assert Activity.objects.get().detail["changed"] == {"title": "Opening hours", "file": "hours.md"}


def test_replacing_a_document_with_a_bad_file_changes_nothing(owner_client, workspace):
    document = add_document(workspace, "Hours")
    before = state()
    response = owner_client.post(
        f"{BASE}document/{document.pk}/",
        {"title": "Hours", "enabled": "on", "file": SimpleUploadedFile("x.exe", b"MZ")},
        **HTMX,
    )
    assert response.status_code == 422 and "Unsupported file type .exe" in response.content.decode()
    assert state() == before


# ---------------------------------------------------------------- bulk actions and deletes


def test_bulk_disable_then_enable_changes_only_the_selected_items(owner_client, workspace, items):
    spare = add_article(workspace, "Spare", "Text.")
    selected = [f"article:{items['article'].pk}", f"faq:{items['faq'].pk}", f"document:{items['document'].pk}"]
    response = owner_client.post(BASE + "bulk", {"action": "disable", "selected": selected}, **FROM_LIST)
    assert response.status_code == 200 and "3 items disabled." in response.content.decode()
    assert not Article.objects.get(pk=items["article"].pk).enabled
    assert not FAQ.objects.get(pk=items["faq"].pk).active
    assert not Document.objects.get(pk=items["document"].pk).enabled
    assert Article.objects.get(pk=spare.pk).enabled
    assert sorted(actions_logged()) == [
        "knowledge.article_disabled",
        "knowledge.document_disabled",
        "knowledge.faq_disabled",
    ]
    owner_client.post(BASE + "bulk", {"action": "enable", "selected": selected[:2]}, **FROM_LIST)
    assert Article.objects.get(pk=items["article"].pk).enabled and FAQ.objects.get(pk=items["faq"].pk).active
    assert not Document.objects.get(pk=items["document"].pk).enabled
    assert actions_logged()[-2:] == ["knowledge.article_enabled", "knowledge.faq_enabled"]


def test_bulk_delete_deletes_the_selected_items_and_keeps_the_filters(
    owner_client, workspace, items, django_capture_on_commit_callbacks
):
    keep = add_article(workspace, "Keep me", "Text.")
    file_name = items["document"].file.name
    selected = [f"article:{items['article'].pk}", f"document:{items['document'].pk}", "faq:notanumber", "nonsense"]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            BASE + "bulk?type=article", {"action": "delete", "selected": selected}, **FROM_LIST
        )
    html = response.content.decode()
    assert "2 items deleted." in html and rows(html) == [f"article-{keep.pk}"]
    assert list(Article.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not Document.objects.exists() and FAQ.objects.exists()
    assert not items["document"].file.storage.exists(file_name)
    assert sorted(actions_logged()) == ["knowledge.article_deleted", "knowledge.document_deleted"]


def test_bulk_needs_a_known_action_and_a_selection(owner_client, items):
    before = state()
    assert (
        owner_client.post(BASE + "bulk", {"action": "explode", "selected": [f"faq:{items['faq'].pk}"]}).status_code
        == 400
    )
    response = owner_client.post(BASE + "bulk", {"action": "delete"}, **FROM_LIST)
    assert response.status_code == 200 and "Select some items first." in response.content.decode()
    assert state() == before


def test_the_list_offers_bulk_actions_and_asks_before_deleting(owner_client, items):
    html = owner_client.get(BASE).content.decode()
    assert 'id="knowledge-bulk"' in html and 'form="knowledge-bulk"' in html
    assert 'value="delete"' in html and 'hx-confirm="Delete the selected items? This cannot be undone."' in html
    assert html.count('hx-confirm="Delete “') == 3  # one per row


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_item_is_deleted_from_the_list(
    owner_client, items, owner, kind, django_capture_on_commit_callbacks
):
    item = items[kind]
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{BASE}{kind}/{item.pk}/delete", **FROM_LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"“{item}” is deleted." in html and f"{kind}-{item.pk}" not in rows(html)
    assert not type(item).objects.filter(pk=item.pk).exists()
    entry = Activity.objects.get()
    assert (entry.actor, entry.action, entry.detail["id"]) == (owner, f"knowledge.{kind}_deleted", item.pk)


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_deleted_from_its_own_page_sends_the_admin_back_to_the_list(owner_client, items, kind):
    item = items[kind]
    page = owner_client.get(f"{BASE}{kind}/{item.pk}/").content.decode()
    assert f'hx-post="{BASE}{kind}/{item.pk}/delete"' in page and 'hx-confirm="Delete “' in page
    response = owner_client.post(f"{BASE}{kind}/{item.pk}/delete", **HTMX)
    assert response["HX-Redirect"] == BASE
    assert not type(item).objects.filter(pk=item.pk).exists()


def test_the_activity_log_shows_knowledge_changes(owner_client, workspace):
    owner_client.post(BASE + "faq/new", FAQ_ENTRY, **HTMX)
    log = owner_client.get("/settings/activity/").content.decode()
    assert 'data-action="knowledge.faq_created"' in log and "added the FAQ \u201cDo you ship abroad?\u201d" in log


def test_an_article_without_channels_is_shown_as_used_in_all_channels(owner_client, workspace):
    article = add_article(workspace, "Returns", "Send it back.", channels=[])
    html = owner_client.get(f"{BASE}article/{article.pk}/").content.decode()
    assert "This article is used in all channels." in html
    assert f'href="/help/{article.public_id}/"' in html  # its public page
    widget_only = add_article(workspace, "Shipping", "We ship.", channels=["widget"])
    html = owner_client.get(f"{BASE}article/{widget_only.pk}/").content.decode()
    assert "This article is used in all channels." not in html and "None checked: all channels." in html
