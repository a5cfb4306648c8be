"""Soak: 500 visitor sockets connected for 60 s, each sending all along, over the real stack.

Real processes: web (daphne) and worker (db_worker) over the embedded PostgreSQL and a Redis
of the bench's own (see _bench.private_redis). 500 visitors open their widget websocket;
one agent's inbox socket is open too. For 60 s every visitor sends a `ping` frame on its
socket every 5 s, and a message every 30 s (--message-every) the way the widget does (HTTP
POST /chat/api/messages, staggered: about 17 messages a second overall; the per-visitor limit
is 10 a minute). On this 2-core machine, where the bench's own sockets, both processes,
PostgreSQL and Redis share the cores, one web process keeps up with about 35 messages a
second: at a message every 10 s (50 a second) nothing is lost, but messages queue for seconds.
Each message must come back on the visitor's own widget socket and reach the agent's
inbox socket.

errors: HTTP answers other than 201, failed socket sends, sockets closed before the end.
lost:   (message, receiver) pairs that never arrived (waited for up to 10 s at the end).
Memory: the web process's RSS before the visitors connect and with all 500 connected,
the difference divided by 500. WIDGET_RATE_LIMIT_PER_IP and WIDGET_LIVE_LIMIT_PER_IP are
raised (every visitor here shares 127.0.0.1). Prints one JSON line.

    .venv/bin/python bench/soak.py [--visitors 500] [--seconds 60] [--message-every 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import _bench
from _bench import log
from delivery import IP_LIMIT, Tally, drain, drop_workspace, make_workspace, new_visitors, open_agents, open_many, paced

PING_EVERY = 5.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def soak(stack, workspace, cookies: list[str], n: int, seconds: float, message_every: float) -> dict:
    import httpx
    from channels.db import database_sync_to_async

    web_pid = stack.procs[0].pid
    token = workspace.public_token
    agents = await open_agents(f"{stack.ws_url}/ws/inbox/", stack.base_url, cookies)
    raws = await database_sync_to_async(new_visitors)(workspace, n)
    # warm the web process up (templates, pools) with a few visitors, then measure its RSS
    warm = await open_many([f"{stack.ws_url}/ws/chat/?token={token}&visitor={raw}" for raw in raws[:5]], stack.base_url)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        for raw in raws[:5]:
            await http.post(
                "/chat/api/messages",
                headers={"X-Widget-Token": token, "X-Visitor-Token": raw},
                data={"body": "warm-up", "client_id": str(uuid.uuid4())},
            )
    for ws in warm:
        await ws.close()
    await asyncio.sleep(2)
    rss_before = rss_kib(web_pid)

    log(f"connecting {n} visitors")
    socks = await open_many([f"{stack.ws_url}/ws/chat/?token={token}&visitor={raw}" for raw in raws], stack.base_url)
    await asyncio.sleep(2)
    rss_connected = rss_kib(web_pid)
    log(f"web RSS {rss_before} KiB -> {rss_connected} KiB with {n} sockets")

    to_visitors = Tally(1)
    to_agent = Tally(1)
    to_agent.run, to_agent.pattern = to_visitors.run, to_visitors.pattern
    agents.listen(to_agent)
    drains = [asyncio.create_task(drain(ws, to_visitors.on_agent_frame(0))) for ws in socks]
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    async def pinger(i: int, ws) -> None:
        await asyncio.sleep(PING_EVERY * i / n)
        while time.perf_counter() < stop_at:
            try:
                await ws.send(json.dumps({"type": "ping"}))
            except Exception as exc:
                errors.append(f"ping: {exc!r}")
                return
            await asyncio.sleep(PING_EVERY)

    pings = [asyncio.create_task(pinger(i, ws)) for i, ws in enumerate(socks)]
    total = int(n * seconds / message_every)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30, limits=httpx.Limits(max_connections=200)) as http:

        async def send(k: int) -> None:
            raw = raws[k % n]
            to_visitors.sent[k] = to_agent.sent[k] = time.perf_counter()
            try:
                r = await http.post(
                    "/chat/api/messages",
                    headers={"X-Widget-Token": token, "X-Visitor-Token": raw},
                    data={"body": to_visitors.text(k), "client_id": str(uuid.uuid4())},
                )
                if r.status_code != 201:
                    errors.append(f"{r.status_code} {r.text[:100]}")
            except Exception as exc:
                errors.append(f"post: {exc!r}")

        log(f"soaking {seconds:.0f}s: {total} messages, pings every {PING_EVERY:.0f}s")
        await paced(total, n / message_every, send)
        await asyncio.gather(*pings)
        await to_visitors.wait_all()
        await to_agent.wait_all()
    rss_end = rss_kib(web_pid)
    closed = sum(1 for ws in socks if ws.state.name != "OPEN")
    errors += [f"{closed} sockets closed"] if closed else []
    for ws in socks:
        await ws.close()
    for task in drains:
        task.cancel()
    await agents.close()
    visitors_result, agent_result = to_visitors.result(), to_agent.result()
    return {
        "visitors": n,
        "seconds": seconds,
        "messages": total,
        "pings": int(n * seconds / PING_EVERY),
        "errors": len(errors),
        **({"first_error": errors[0]} if errors else {}),
        "lost": visitors_result["lost"] + agent_result["lost"],
        "to_visitor": {k: visitors_result.get(k) for k in ("p50_ms", "p95_ms", "max_ms", "lost")},
        "to_agent": {k: agent_result.get(k) for k in ("p50_ms", "p95_ms", "max_ms", "lost")},
        "web_rss_kib": {"before": rss_before, "connected": rss_connected, "end": rss_end},
        "rss_per_connection_kib": round((rss_connected - rss_before) / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--message-every", type=float, default=30, help="seconds between one visitor's messages")
    args = parser.parse_args()

    _bench.socket_bench_setup()
    from tests.processes import Stack, stack_env

    workspace, cookies = make_workspace(1)
    env = stack_env()
    env.pop("DATABASE_URL")
    env.update(LOG_LEVEL="ERROR", WIDGET_RATE_LIMIT_PER_IP=IP_LIMIT, WIDGET_LIVE_LIMIT_PER_IP=IP_LIMIT)
    stack = Stack(env=env)
    tmp = Path(tempfile.mkdtemp())
    try:
        stack.start_web(tmp)
        stack.start_worker(tmp)
        result = asyncio.run(soak(stack, workspace, cookies, args.visitors, args.seconds, args.message_every))
    finally:
        stack.stop()
        drop_workspace(workspace)
    print(
        json.dumps(
            {
                "bench": "soak",
                **result,
                "message_every_s": args.message_every,
                "ping_every_s": PING_EVERY,
                "send_path": "messages: HTTP POST /chat/api/messages (the widget's path while its socket is not open; bench/delivery.py measures the socket path); pings: widget websocket frames",
                "rate_limits": f"WIDGET_RATE_LIMIT_PER_IP and WIDGET_LIVE_LIMIT_PER_IP={IP_LIMIT} for the bench; WIDGET_RATE_LIMIT_PER_VISITOR default (10/min)",
                "goal": "0 errors, 0 lost",
                "goal_met": result["errors"] == 0 and result["lost"] == 0,
            }
        )
    )


if __name__ == "__main__":
    main()
