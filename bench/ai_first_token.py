"""Time from a customer's message to the first AI token on the visitor's websocket.

Real processes: web (daphne) and worker (db_worker) over the embedded PostgreSQL and Redis,
the AI provider replaced by the OpenAI-compatible stub on loopback. For each of N visitors:
post a message over HTTP, then wait on the widget websocket for the first streamed token.
The stub's own delay before its first token is subtracted. Visitors go one after another,
each once the previous answer is complete. Prints one JSON line.

    .venv/bin/python bench/ai_first_token.py [--n 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import _bench
from _bench import pct

POSTS: list[float] = []


async def one(stack, token: str, question: str) -> float:
    import httpx
    import websockets

    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        raw = (await http.post("/chat/api/visitor", headers={"X-Widget-Token": token})).json()["visitor"]
        uri = f"{stack.ws_url}/ws/chat/?token={token}&visitor={raw}"
        async with websockets.connect(uri, origin=stack.base_url) as ws:
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            started = time.perf_counter()
            r = await http.post(
                "/chat/api/messages",
                headers={"X-Widget-Token": token, "X-Visitor-Token": raw},
                data={"body": question, "client_id": str(uuid.uuid4())},
            )
            assert r.status_code == 201, r.text
            POSTS.append(time.perf_counter() - started)
            first = None
            while True:
                frame = await asyncio.wait_for(ws.recv(), 10)
                if first is None and "ai-draft-" in frame and "AI is writing" not in frame and "delete" not in frame:
                    first = time.perf_counter() - started
                if 'data-kind="ai"' in frame:  # the saved answer: this visitor is done
                    return first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    args = parser.parse_args()

    _bench.embedded_services()  # stopped at exit if this script started them
    import django

    django.setup()
    from django.core.management import call_command

    from helpdesk.ai.models import AISettings
    from helpdesk.knowledge.models import Article
    from helpdesk.knowledge.tasks import index_article
    from helpdesk.workspace.models import Workspace
    from tests.llm_stub import LLMStub
    from tests.processes import Stack, stack_env

    call_command("migrate", verbosity=0)
    stub = LLMStub().start()
    stub.first_token_delay = 0.02
    stub.token_delay = 0.01
    workspace = Workspace.objects.create(name=f"bench-ai-{uuid.uuid4().hex[:6]}", away_message="")
    AISettings.objects.create(workspace=workspace, enabled=True)
    article = Article.objects.create(
        workspace=workspace,
        title="Shipping and delivery",
        body="# Shipping\n\nWe ship to every country in the European Union. Delivery to Norway takes five to seven days.",
    )
    index_article.call(article.pk)
    env = stack_env()
    env.pop("DATABASE_URL")
    env.update(
        OPENAI_BASE_URL=stub.url,
        OPENAI_API_KEY="sk-bench",
        LOG_LEVEL="ERROR",
        WIDGET_RATE_LIMIT_PER_IP="1000000",
        WIDGET_LIVE_LIMIT_PER_IP="1000000",
    )
    stack = Stack(env=env)
    tmp = Path(tempfile.mkdtemp())
    try:
        stack.start_web(tmp)
        stack.start_worker(tmp)
        asyncio.run(one(stack, workspace.public_token, "How long is delivery to Norway?"))  # warm-up
        samples = []
        for _ in range(args.n):
            samples.append(asyncio.run(one(stack, workspace.public_token, "How long is delivery to Norway?")))
    finally:
        stack.stop()
        stub.stop()
        workspace.delete()
    ms = [(s - stub.first_token_delay) * 1000 for s in samples]
    print(
        json.dumps(
            {
                "bench": "ai_first_token",
                "n": len(ms),
                "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": round(pct(ms, 95), 1),
                "max_ms": round(max(ms), 1),
                "stub_first_token_delay_ms": stub.first_token_delay * 1000,
                "goal_p95_ms": 100,
                "post_p50_ms": round(statistics.median(POSTS) * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
