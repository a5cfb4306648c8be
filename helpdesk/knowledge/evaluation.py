"""What the evaluation commands share (eval_retrieval here, eval_answers in ai): reading the
labelled JSONL files and loading their articles into a throwaway workspace."""

from __future__ import annotations

import json
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from helpdesk.knowledge.models import Article
from helpdesk.knowledge.tasks import index_article
from helpdesk.workspace.models import Workspace


def read_jsonl(path: str) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    try:
        rows = [json.loads(line) for line in lines if line.strip()]
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path} is not JSON lines: {exc}") from exc
    if not all(isinstance(row, dict) for row in rows):
        raise CommandError(f"{path}: every line must be a JSON object")
    return rows


def questions_of(path: str, *, gold: bool = True) -> list[dict]:
    """The questions of a JSONL file (`question`, and with `gold` their `gold_article_ids`)."""
    rows = read_jsonl(path)
    for n, row in enumerate(rows, start=1):
        if not isinstance(row.get("question"), str) or (gold and not isinstance(row.get("gold_article_ids"), list)):
            needed = "question and gold_article_ids" if gold else "question"
            raise CommandError(f"{path}, line {n}: needs {needed}")
    return rows


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


@contextmanager
def workspace_with(rows: list[dict]) -> Iterator[tuple[Workspace, dict[int, str]]]:
    """A throwaway workspace holding the articles (`id`, `title`, `body`), indexed right here
    with the configured embedding provider: (workspace, article pk -> the file's id). Deleted
    afterwards."""
    for n, row in enumerate(rows, start=1):
        if "id" not in row or not isinstance(row.get("title"), str):
            raise CommandError(f"articles, line {n}: needs id and title")
    workspace = Workspace.objects.create(name=f"eval-{secrets.token_hex(4)}")
    try:
        articles = Article.objects.bulk_create(
            Article(workspace=workspace, title=row["title"], body=row.get("body") or "") for row in rows
        )
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
        yield workspace, {article.pk: str(row["id"]) for article, row in zip(articles, rows)}
    finally:
        workspace.delete()
