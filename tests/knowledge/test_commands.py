import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpdesk.knowledge.management.commands.reembed import column_dimensions
from helpdesk.knowledge.models import Chunk
from helpdesk.workspace.models import Workspace
from tests.knowledge.conftest import add_article, add_faq

pytestmark = pytest.mark.django_db


def test_reembed_gives_every_chunk_a_vector_in_batches(workspace, other_workspace, settings, vectors):
    settings.EMBEDDING_PROVIDER = "none"
    for n in range(3):
        add_article(workspace, f"Article {n}", f"Body of article {n}.")
    add_faq(other_workspace, "Do you ship abroad?", "Yes.")
    assert not Chunk.objects.filter(embedding__isnull=False).exists()
    settings.EMBEDDING_PROVIDER = "openai"
    out = StringIO()
    call_command("reembed", "--batch-size", "2", stdout=out)
    assert "Re-embedded 4 chunks" in out.getvalue()
    # batches of 2 chunks; within a batch, one request per workspace (each with its own model)
    assert len(vectors.requests) == 3
    assert Chunk.objects.filter(embedding__isnull=True).count() == 0


def test_reembed_missing_only_touches_chunks_without_vectors(workspace, vectors):
    add_article(workspace, "Has a vector", "Text.")
    chunk = add_article(workspace, "Lost its vector", "Text.").chunks.get()
    Chunk.objects.filter(pk=chunk.pk).update(embedding=None)
    vectors.requests.clear()
    call_command("reembed", "--missing", stdout=StringIO())
    assert [len(r["input"]) for r in vectors.requests] == [2]  # the chunk and its heading
    assert Chunk.objects.filter(embedding__isnull=True).count() == 0


def test_reembed_resizes_the_column_when_the_dimensions_change(workspace, vectors, settings):
    add_article(workspace, "Returns", "Within 30 days.")
    settings.EMBEDDING_DIMENSIONS = 8
    vectors.dimensions = 8
    try:
        out = StringIO()
        call_command("reembed", stdout=out)
        assert "from 384 to 8 dimensions" in out.getvalue()
        assert column_dimensions() == 8
        assert [len(e) for e in Chunk.objects.values_list("embedding", flat=True)] == [8]
    finally:
        vectors.dimensions = 384


def test_reembed_refuses_without_a_provider(settings):
    with pytest.raises(CommandError, match="nothing to embed"):
        call_command("reembed", stdout=StringIO())


def test_reembed_reports_a_failing_provider(workspace, vectors):
    add_article(workspace, "Returns", "Within 30 days.")
    vectors.fail = True
    with pytest.raises(CommandError, match="after 0 of 1 chunks"):
        call_command("reembed", stdout=StringIO())


@pytest.mark.parametrize("provider", ["none", "openai"])
def test_eval_retrieval_prints_one_json_line_and_cleans_up(tmp_path, workspace, vectors, provider):
    articles = tmp_path / "articles.jsonl"
    questions = tmp_path / "questions.jsonl"
    rows = [
        {"id": "a1", "title": "Reset your password", "body": "Use the forgot password link on the sign-in page."},
        {"id": "a2", "title": "Delete your account", "body": "Account deletion is under settings, privacy."},
        {"id": "a3", "title": "Change the invoice address", "body": "Billing settings hold the invoice address."},
    ]
    asked = [
        {"id": "q1", "question": "I forgot my password", "gold_article_ids": ["a1"]},
        {"id": "q2", "question": "how to remove my account", "gold_article_ids": ["a2"]},
        {"id": "q3", "question": "where do I set the billing address", "gold_article_ids": ["a3", "a1"]},
        {"id": "q4", "question": "zebra", "gold_article_ids": ["a1"]},
    ]
    articles.write_text("\n".join(json.dumps(r) for r in rows))
    questions.write_text("\n".join(json.dumps(q) for q in asked) + "\n")
    workspaces = Workspace.objects.count()
    out = StringIO()
    call_command(
        "eval_retrieval", "--articles", str(articles), "--questions", str(questions), "--provider", provider, stdout=out
    )
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert {"recall@1", "recall@5", "mrr@10", "p50_ms", "p95_ms", "questions", "articles"} <= set(result)
    assert result["questions"] == 4 and result["articles"] == 3
    assert result["provider"] == provider
    if provider == "none":  # "zebra" matches nothing: 3 of 4 found first
        assert result["recall@1"] == result["recall@5"] == result["mrr@10"] == 0.75
    else:  # vectors always rank something; a3 or a1 for q3
        assert result["recall@5"] == 1.0
    assert 0 <= result["p50_ms"] <= result["p95_ms"]
    assert Workspace.objects.count() == workspaces
    assert not Chunk.objects.exists()


def test_eval_retrieval_refuses_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON lines"):
        call_command("eval_retrieval", "--articles", str(bad), "--questions", str(bad), stdout=StringIO())
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "eval_retrieval", "--articles", str(tmp_path / "missing"), "--questions", str(bad), stdout=StringIO()
        )
