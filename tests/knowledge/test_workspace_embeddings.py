"""A workspace's AI settings choose its embedding model: indexing and queries use it, other
workspaces keep the server's, and changing it re-embeds that workspace's knowledge."""

from __future__ import annotations

from django.test import Client

from helpdesk.ai.models import AISettings
from helpdesk.knowledge import retrieval
from helpdesk.knowledge.models import Chunk
from helpdesk.knowledge.tasks import reembed_workspace
from tests.knowledge.conftest import add_article
from tests.workspace.test_ai_settings import VALID


def models_used(stub) -> list[str]:
    return [r["model"] for r in stub.requests]


def test_indexing_and_queries_use_the_workspace_embedding_model(workspace, other_workspace, vectors):
    AISettings.objects.create(workspace=workspace, embedding_model="acme-embed-2")
    add_article(workspace, "Shipping", "We ship to Norway in five days.")
    assert set(models_used(vectors)) == {"acme-embed-2"}
    vectors.requests.clear()
    assert retrieval.search(workspace, "ship to Norway")[0].title == "Shipping"
    assert models_used(vectors) == ["acme-embed-2"]
    vectors.requests.clear()
    add_article(other_workspace, "Returns", "Returns are free for 30 days.")
    retrieval.search(other_workspace, "returns")
    assert set(models_used(vectors)) == {"stub-embedding"}


def test_changing_the_embedding_model_on_the_settings_page_re_embeds_that_workspace(
    owner, workspace, other_workspace, vectors, enqueued, django_capture_on_commit_callbacks
):
    add_article(workspace, "Shipping", "We ship to Norway in five days.")
    add_article(other_workspace, "Returns", "Returns are free for 30 days.")
    client = Client()
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/ai/", {**VALID, "base_url": "", "api_key": "", "embedding_model": "acme-embed-3"}
        )
    assert response.status_code == 200 and "re-embedded" in response.content.decode()
    assert enqueued == [(reembed_workspace.name, (workspace.pk,))]
    vectors.requests.clear()
    Chunk.objects.update(embedding=None)
    reembed_workspace.call(workspace.pk)
    assert set(models_used(vectors)) == {"acme-embed-3"}
    assert not Chunk.objects.filter(workspace=workspace, embedding__isnull=True).exists()
    assert not Chunk.objects.filter(workspace=other_workspace, embedding__isnull=False).exists()
