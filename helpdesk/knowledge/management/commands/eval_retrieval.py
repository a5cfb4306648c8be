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
import statistics
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from helpdesk.knowledge import retrieval
from helpdesk.knowledge.evaluation import percentile, questions_of, read_jsonl, workspace_with


class Command(BaseCommand):
    help = "Evaluate knowledge retrieval on JSONL articles and questions; prints one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("--articles", required=True, help="JSONL: id, title, body")
        parser.add_argument("--questions", required=True, help="JSONL: id, question, gold_article_ids")
        parser.add_argument("--k", type=int, default=5, help="results asked of search (at least 10 are asked)")
        parser.add_argument("--provider", choices=["none", "local", "openai"], help="default: EMBEDDING_PROVIDER")

    def handle(self, *args, articles: str, questions: str, k: int, provider: str | None, **options):
        rows = read_jsonl(articles)
        asked = questions_of(questions)
        if not rows or not asked:
            raise CommandError("no articles or no questions")
        with override_settings(EMBEDDING_PROVIDER=provider or settings.EMBEDDING_PROVIDER):
            result = self.evaluate(rows, asked, max(k, 1))
        self.stdout.write(json.dumps(result))

    def evaluate(self, rows: list[dict], asked: list[dict], k: int) -> dict:
        with workspace_with(rows) as (workspace, pk_to_id):
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
                "articles": len(rows),
                "provider": settings.EMBEDDING_PROVIDER,
            }
