"""Measure what the AI answers without a chat model (knowledge-only mode) on a labelled set.

    python manage.py eval_answers --articles ../shared/eval/stackfaq/articles.jsonl \
        --questions ../shared/eval/stackfaq/questions_public.jsonl \
        --unanswerable ../shared/eval/covidfaq/questions_public.jsonl --provider local

Loads the articles into a throwaway workspace (deleted afterwards), indexed right here with
the chosen embedding provider, and puts every question through ai/decision.decide, the same
decision the agent acts on, with no chat model. Prints one JSON line:

    {"answerable": {"questions": N, "correct": r, "wrong": r, "handed_over": r},
     "unanswerable": {"questions": M, "answered": r, "handed_over": r}, "provider": p}

correct: it answered citing one of the question's gold articles; wrong: it answered citing
none of them; handed_over: it passed the question to a person. `--unanswerable` is a file of
questions (gold articles, if any, are ignored) whose answers are not in these articles;
without it, "unanswerable" is null.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from helpdesk.ai import decision
from helpdesk.knowledge.evaluation import questions_of, read_jsonl, workspace_with
from helpdesk.workspace.models import Workspace


def rate(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


class Command(BaseCommand):
    help = "Evaluate knowledge-only answers on JSONL articles and questions; prints one JSON line."

    def add_arguments(self, parser):
        parser.add_argument("--articles", required=True, help="JSONL: id, title, body")
        parser.add_argument("--questions", required=True, help="JSONL: id, question, gold_article_ids")
        parser.add_argument("--unanswerable", help="JSONL: question (answered by none of the articles)")
        parser.add_argument("--provider", choices=["none", "local", "openai"], help="default: EMBEDDING_PROVIDER")

    def handle(self, *args, articles: str, questions: str, unanswerable: str | None, provider: str | None, **options):
        rows = read_jsonl(articles)
        asked = questions_of(questions)
        others = questions_of(unanswerable, gold=False) if unanswerable else None
        if not rows or not asked or others == []:
            raise CommandError("no articles or no questions")
        with override_settings(EMBEDDING_PROVIDER=provider or settings.EMBEDDING_PROVIDER):
            with workspace_with(rows) as (workspace, pk_to_id):
                result = {
                    "answerable": self.answerable(workspace, pk_to_id, asked),
                    "unanswerable": self.unanswerable(workspace, others) if others is not None else None,
                    "provider": settings.EMBEDDING_PROVIDER,
                }
        self.stdout.write(json.dumps(result))

    def answerable(self, workspace: Workspace, pk_to_id: dict[int, str], asked: list[dict]) -> dict:
        correct = wrong = handed_over = 0
        for question in asked:
            decided = decision.decide(workspace, question["question"], chat=False)
            if decided.action != decision.ANSWER:
                handed_over += 1
                continue
            gold = {str(g) for g in question["gold_article_ids"]}
            cited = {pk_to_id.get(item_id) for kind, item_id in decided.cited if kind == "article"}
            if cited & gold:
                correct += 1
            else:
                wrong += 1
        n = len(asked)
        return {
            "questions": n,
            "correct": rate(correct, n),
            "wrong": rate(wrong, n),
            "handed_over": rate(handed_over, n),
        }

    def unanswerable(self, workspace: Workspace, asked: list[dict]) -> dict:
        answered = sum(
            decision.decide(workspace, question["question"], chat=False).action == decision.ANSWER for question in asked
        )
        n = len(asked)
        return {"questions": n, "answered": rate(answered, n), "handed_over": rate(n - answered, n)}
