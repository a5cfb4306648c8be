"""The migration to public ids, on a database that has articles and AI answers citing them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from helpdesk.ai.models import AISettings
from helpdesk.conversations import actions, identity
from helpdesk.conversations.models import Message
from helpdesk.knowledge.models import Article

BEFORE = [("knowledge", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_articles_get_distinct_public_ids_and_old_links_in_answers_follow_them(workspace, client):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        OldArticle = old.get_model("knowledge", "Article")
        returns, shipping = (
            OldArticle.objects.create(workspace_id=workspace.pk, title=title, body=body, channels=["widget"])
            for title, body in [("Returns", "Within 30 days."), ("Shipping", "To the EU.")]
        )
        AISettings.objects.create(workspace=workspace, enabled=False)
        visitor, _raw = identity.start_visitor(workspace)
        question = actions.post_customer_message(visitor, "Returns and shipping?")
        sources = [
            {
                "n": 1,
                "kind": "article",
                "id": returns.pk,
                "chunk_id": 1,
                "title": "Returns",
                "url": f"/help/{returns.pk}/",
            },
            {
                "n": 2,
                "kind": "article",
                "id": shipping.pk,
                "chunk_id": 2,
                "title": "Shipping",
                "url": "https://acme.test/s",
            },
            {"n": 3, "kind": "faq", "id": 7, "chunk_id": 3, "title": "Hours?", "url": ""},
            {"n": 4, "kind": "article", "id": 999999, "chunk_id": 4, "title": "Gone", "url": "/help/999999/"},
        ]
        # Written as post_ai_reply saves it, without its locking read (which joins the
        # assignee's user row, whose newer columns are rolled back with knowledge 0001's
        # dependents).
        answer = Message.objects.create(
            workspace=workspace,
            conversation=question.conversation,
            author_kind=Message.Author.AI,
            body="See [1] [2] [3] [4].",
            sources=sources,
            client_id=f"ai-{question.pk}",
        )
    finally:
        migrate(latest)

    public = dict(Article.objects.values_list("pk", "public_id"))
    assert all(public.values()) and len(set(public.values())) == 2
    urls = [s["url"] for s in Message.objects.get(pk=answer.pk).sources]
    assert urls == [f"/help/{public[returns.pk]}/", "https://acme.test/s", "", "/help/999999/"]
    assert client.get(urls[0]).status_code == 200  # the old answer's link still opens the article
    assert client.get(f"/help/{returns.pk}/").status_code == 404
    assert Article.objects.create(workspace=workspace, title="New").public_id not in public.values()
