"""Measure retrieval on a labelled set: articles and questions with their gold articles.

    python manage.py eval_retrieval --articles ../shared/eval/stackfaq/articles.jsonl \
        --questions ../shared/eval/stackfaq/questions_public.jsonl --provider local

Loads the articles into a throwaway workspace (deleted afterwards), indexes them right
here with the chosen embedding provider, asks every question through retrieval.search and
prints one JSON line: recall@1, recall@5, mrr@10, p50_ms / p95_ms (search latency),
questions, articles.
"""

from __future__ import annotations

import json
import secrets
import statistics
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from helpdesk.knowledge import retrieval
from helpdesk.knowledge.models import Article
from helpdesk.knowledge.tasks import index_article
from helpdesk.workspace.models import Workspace


def read_jsonl(path: str) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    try:
        return [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not JSON lines: {exc}") from exc


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Command(BaseCommand):
    help = "Evaluate knowledge retrieval on JSONL articles and questions; prints one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("--articles", required=True, help="JSONL: id, title, body")
        parser.add_argument("--questions", required=True, help="JSONL: id, question, gold_article_ids")
        parser.add_argument("--k", type=int, default=5, help="results asked of search (at least 10 are asked)")
        parser.add_argument("--provider", choices=["none", "local", "openai"], help="default: EMBEDDING_PROVIDER")

    def handle(self, *args, articles: str, questions: str, k: int, provider: str | None, **options):
        rows = read_jsonl(articles)
        asked = read_jsonl(questions)
        if not rows or not asked:
            raise CommandError("no articles or no questions")
        with override_settings(EMBEDDING_PROVIDER=provider or settings.EMBEDDING_PROVIDER):
            result = self.evaluate(rows, asked, max(k, 1))
        self.stdout.write(json.dumps(result))

    def evaluate(self, rows: list[dict], asked: list[dict], k: int) -> dict:
        workspace = Workspace.objects.create(name=f"eval-{secrets.token_hex(4)}")
        try:
            articles = Article.objects.bulk_create(
                Article(workspace=workspace, title=row["title"], body=row.get("body", "")) for row in rows
            )
            pk_to_id = {article.pk: str(row["id"]) for article, row in zip(articles, rows)}
            started = time.perf_counter()
            for n, article in enumerate(articles, start=1):
                index_article.call(article.pk)
                if n % 25 == 0:
                    print(f"indexed {n}/{len(articles)}", file=sys.stderr)
            failed = Article.objects.filter(workspace=workspace).exclude(status="ready").count()
            print(
                f"indexed {len(articles)} articles in {time.perf_counter() - started:.1f} s"
                f" with {settings.EMBEDDING_PROVIDER}; {failed} not ready",
                file=sys.stderr,
            )
            depth = max(k, 10)
            hits1 = hits5 = 0
            reciprocal_ranks: list[float] = []
            latencies: list[float] = []
            for question in asked:
                gold = {str(g) for g in question["gold_article_ids"]}
                t = time.perf_counter()
                hits = retrieval.search(workspace, question["question"], k=depth)
                latencies.append((time.perf_counter() - t) * 1000)
                ranked = [pk_to_id.get(hit.item_id) for hit in hits if hit.kind == "article"]
                first = next((rank for rank, found in enumerate(ranked[:10], start=1) if found in gold), None)
                hits1 += first == 1
                hits5 += first is not None and first <= 5
                reciprocal_ranks.append(1 / first if first else 0.0)
            n = len(asked)
            return {
                "recall@1": round(hits1 / n, 4),
                "recall@5": round(hits5 / n, 4),
                "mrr@10": round(statistics.fmean(reciprocal_ranks), 4),
                "p50_ms": round(percentile(latencies, 50), 1),
                "p95_ms": round(percentile(latencies, 95), 1),
                "questions": n,
                "articles": len(articles),
                "provider": settings.EMBEDDING_PROVIDER,
            }
        finally:
            workspace.delete()
