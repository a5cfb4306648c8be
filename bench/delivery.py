"""A visitor's message until the agents' inbox websockets receive it rendered, against the
bare Channels floor over the same Redis.

Real processes: web (daphne) and worker (db_worker) over the embedded PostgreSQL and a
Redis of the bench's own (see _bench.private_redis), and a third process, daphne serving bench/echo_asgi.py (bare Channels, no database, no
templates) over the same channel layer. For N visitor sockets (all connected) and 10 agent
inbox sockets (signed in by session cookie):

  product  a visitor sends a message the way the widget does with its socket open: a
           message frame over its widget socket; the web process saves it (the same action
           as the HTTP API) and group_sends the rendered fragments through Redis; the
           clock stops when each agent's inbox socket receives the fragment with the
           message's text. One sample per (message, agent).
  floor    a visitor sends the text over its echo socket; the echo consumer group_sends it
           to the agents' group and the visitor's own group; same counts, same pacing.

The workspace's AI is off (--ai on turns it on): this is a message's way to the people in
the inbox, and an AI that answers every message adds its own replies to the same sockets
(with no provider configured here, it hands every new conversation over: a system message
and a conversation update to every agent). The AI's answers are measured by
bench/ai_first_token.py. The product's numbers are also given for visitors' first messages
(a conversation is opened) and later ones.

Messages are sent at a steady rate (open loop), spread over the visitors. `lost` counts
(message, agent) pairs that never arrived (waited for up to 10 s after the last send).
WIDGET_RATE_LIMIT_PER_IP and WIDGET_LIVE_LIMIT_PER_IP are raised for the web process
(every visitor here shares 127.0.0.1); the per-visitor limit stays at its default (10 a
minute): no visitor sends more than 3. Prints one JSON line.

    .venv/bin/python bench/delivery.py [--visitors 100 500] [--rate 12] [--ai on] [--floor no-hop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import _bench
from _bench import log, summary

AGENTS = 10
# Messages per run, spread over the visitors (two each at 100; at 500 the first 300 send one).
# The web process saves about 25 widget messages a second on this 2-core machine; the rate
# stays well under that, so the numbers are delivery latency, not queueing.
MESSAGES = {100: 200, 500: 300}
IP_LIMIT = "1000000"


# ---------------------------------------------------------------- set-up in this process


def make_workspace(agents: int, ai: bool = False):
    """A workspace with `agents` online agents; returns it and their session cookies."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from helpdesk.accounts.models import Membership, User
    from helpdesk.ai.models import AISettings
    from helpdesk.workspace.models import Workspace

    tag = uuid.uuid4().hex[:6]
    workspace = Workspace.objects.create(name=f"bench-delivery-{tag}", away_message="")
    AISettings.objects.create(workspace=workspace, enabled=ai)
    cookies = []
    for i in range(agents):
        user = User.objects.create_user(f"agent{i}-{tag}@bench.test", f"bench-password-{tag}", name=f"Agent {i}")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.AGENT)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.save()
        cookies.append(f"sessionid={store.session_key}")
    return workspace, cookies


def drop_workspace(workspace) -> None:
    from helpdesk.accounts.models import User

    users = list(User.objects.filter(memberships__workspace=workspace).values_list("pk", flat=True))
    workspace.delete()
    User.objects.filter(pk__in=users).delete()


def start_echo(stack, tmp: Path, app: str = "application") -> str:
    """daphne serving bench/echo_asgi.py with the stack's environment; its ws:// base URL."""
    from tests.processes import free_port

    port = free_port()
    stack._spawn(
        "echo", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), f"bench.echo_asgi:{app}"], tmp
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                if r.status == 200:
                    return f"ws://127.0.0.1:{port}"
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("echo did not start:\n" + stack.output())
        time.sleep(0.1)


# ---------------------------------------------------------------- sockets


async def drain(ws, on_frame=None) -> None:
    try:
        async for frame in ws:
            if on_frame is not None:
                on_frame(frame)
    except Exception:
        pass


class Agents(list):
    """The agents' sockets, each read by one task for its whole life; frames go to the
    current run's tally."""

    def listen(self, tally) -> None:
        self.handlers = [tally.on_agent_frame(i) for i in range(len(self))]

    def start(self) -> None:
        self.handlers = [None] * len(self)
        self.tasks = [asyncio.create_task(drain(ws, self._dispatch(i))) for i, ws in enumerate(self)]

    def _dispatch(self, i: int):
        def handle(frame) -> None:
            if self.handlers[i] is not None:
                self.handlers[i](frame)

        return handle

    async def close(self) -> None:
        for ws in self:
            await ws.close()
        for task in self.tasks:
            task.cancel()


async def open_agents(uri: str, origin: str, cookies: list[str]) -> Agents:
    import websockets

    agents = Agents(
        [
            await websockets.connect(
                uri, origin=origin, additional_headers={"Cookie": c} if c else None, max_queue=None
            )
            for c in cookies
        ]
    )
    agents.start()
    return agents


def new_visitors(workspace, n: int) -> list[str]:
    """n visitor tokens, made in this process in one transaction, as identity.start_visitor
    (what /chat/api/visitor calls) makes them one by one. Set-up, not measured."""
    import secrets

    from django.db import transaction
    from django.utils import timezone

    from helpdesk.conversations.models import Contact, Visitor
    from helpdesk.lib.tokens import hash_token

    raws = ["vt_" + secrets.token_urlsafe(32) for _ in range(n)]
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            [Contact(workspace=workspace, last_seen_at=timezone.now()) for _ in raws]
        )
        Visitor.objects.bulk_create(
            [Visitor(workspace=workspace, contact=c, token_hash=hash_token(raw)) for c, raw in zip(contacts, raws)]
        )
    return raws


async def open_many(uris: list[str], origin: str) -> list:
    import websockets

    limit = asyncio.Semaphore(50)

    async def one(uri):
        async with limit:
            return await websockets.connect(uri, origin=origin, max_queue=None)

    return await asyncio.gather(*(one(u) for u in uris))


# ---------------------------------------------------------------- one run


class Tally:
    """Send times and (message, agent) arrival times, matched by a marker in the text."""

    def __init__(self, agents: int):
        self.run = uuid.uuid4().hex[:8]
        self.pattern = re.compile(rf"bm{self.run}x(\d+)x")
        self.sent: dict[int, float] = {}
        self.arrived: dict[tuple[int, int], float] = {}
        self.errors: list[str] = []
        self.agents = agents

    def text(self, seq: int) -> str:
        return f"Hello, where is my order? bm{self.run}x{seq}x"

    def on_agent_frame(self, agent: int):
        def handle(frame) -> None:
            now = time.perf_counter()
            for seq in set(self.pattern.findall(frame if isinstance(frame, str) else frame.decode())):
                self.arrived.setdefault((int(seq), agent), now)

        return handle

    def latencies_ms(self, seqs=None) -> list[float]:
        return [
            (t - self.sent[seq]) * 1000
            for (seq, _agent), t in self.arrived.items()
            if seq in self.sent and (seqs is None or seq in seqs)
        ]

    async def wait_all(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrived) < len(self.sent) * self.agents and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def result(self) -> dict:
        expected = len(self.sent) * self.agents
        return {
            **summary(self.latencies_ms()),
            "messages": len(self.sent),
            "deliveries_expected": expected,
            "lost": expected - len(self.arrived),
            "errors": len(self.errors),
            **({"first_error": self.errors[0]} if self.errors else {}),
        }


async def paced(total: int, rate: float, send) -> None:
    """Start send(k) for k in 0..total-1 at `rate` a second, without waiting for each."""
    started = time.perf_counter()
    tasks = []
    for k in range(total):
        delay = started + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(k)))
    await asyncio.gather(*tasks)


async def product_run(
    visitor_socks: list, agent_socks: list, total: int, rate: float, first: set | None = None
) -> dict:
    """Visitors send as the widget does with its socket open: a message frame (saved, then pushed).
    `first`: the message numbers that are their visitor's first (a conversation is opened)."""
    tally = Tally(len(agent_socks))
    agent_socks.listen(tally)

    async def send(k: int) -> None:
        tally.sent[k] = time.perf_counter()
        frame = {"type": "message", "body": tally.text(k), "client_id": str(uuid.uuid4())}
        try:
            await visitor_socks[k % len(visitor_socks)].send(json.dumps(frame))
        except Exception as exc:
            tally.errors.append(repr(exc))

    await paced(total, rate, send)
    await tally.wait_all()
    out = tally.result()
    if first is not None:
        later = set(tally.sent) - first
        out["first_messages"] = summary(tally.latencies_ms(first))
        out["later_messages"] = summary(tally.latencies_ms(later))
    return out


async def floor_run(visitor_socks: list, agent_socks: list, total: int, rate: float) -> dict:
    tally = Tally(len(agent_socks))
    agent_socks.listen(tally)

    async def send(k: int) -> None:
        tally.sent[k] = time.perf_counter()
        try:
            await visitor_socks[k % len(visitor_socks)].send(tally.text(k))
        except Exception as exc:
            tally.errors.append(repr(exc))

    await paced(total, rate, send)
    await tally.wait_all()
    return tally.result()


async def scenario(stack, echo_url: str, workspace, cookies: list[str], sizes: list[int], rate: float) -> dict:
    from channels.db import database_sync_to_async

    token = workspace.public_token
    agents = await open_agents(f"{stack.ws_url}/ws/inbox/", stack.base_url, cookies)
    echo_agents = await open_agents(f"{echo_url}/ws/echo/?role=agent", stack.base_url, [""] * len(cookies))
    await asyncio.sleep(1)  # agents online; presence broadcasts settle
    out = {}
    for n in sizes:
        total = MESSAGES.get(n, n)
        log(f"{n} visitors: issuing tokens, connecting")
        raws = await database_sync_to_async(new_visitors)(workspace, n)
        socks = await open_many(
            [f"{stack.ws_url}/ws/chat/?token={token}&visitor={raw}" for raw in raws], stack.base_url
        )
        echo_socks = await open_many([f"{echo_url}/ws/echo/?role=visitor"] * n, stack.base_url)
        drains = [asyncio.create_task(drain(ws)) for ws in socks + echo_socks]
        # warm-up: a few messages of each kind, not counted
        await product_run(socks[:5], agents, 5, rate)
        await floor_run(echo_socks[:5], echo_agents, 5, rate)
        log(f"{n} visitors: product, {total} messages at {rate}/s")
        # the warm-up's 5 visitors have a conversation already
        first = {k for k in range(total) if 5 <= k < n}
        product = await product_run(socks, agents, total, rate, first)
        log("product", json.dumps(product))
        log(f"{n} visitors: floor, {total} messages at {rate}/s")
        floor = await floor_run(echo_socks, echo_agents, total, rate)
        log("floor", json.dumps(floor))
        open_product = sum(1 for ws in socks if ws.state.name == "OPEN")
        for ws in socks + echo_socks:
            await ws.close()
        for task in drains:
            task.cancel()
        out[n] = {
            "visitor_sockets_open_at_end": open_product,
            "product": product,
            "floor": floor,
            "p95_over_floor_p95": round(product["p95_ms"] / floor["p95_ms"], 2) if floor.get("p95_ms") else None,
        }
    await agents.close()
    await echo_agents.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--rate", type=float, default=12.0, help="messages a second, over all visitors")
    parser.add_argument("--ai", choices=["off", "on"], default="off", help="the workspace's AI (default: off)")
    parser.add_argument(
        "--floor",
        choices=["channels", "no-hop"],
        default="channels",
        help="channels: a bare Channels consumer as it comes (default); no-hop: one that also skips Channels' "
        "hop to the database thread before every event, as the product's consumers do",
    )
    args = parser.parse_args()

    _bench.socket_bench_setup()
    from tests.processes import Stack, stack_env

    workspace, cookies = make_workspace(AGENTS, ai=args.ai == "on")
    env = stack_env()
    env.pop("DATABASE_URL")
    env.update(LOG_LEVEL="ERROR", WIDGET_RATE_LIMIT_PER_IP=IP_LIMIT, WIDGET_LIVE_LIMIT_PER_IP=IP_LIMIT)
    stack = Stack(env=env)
    tmp = Path(tempfile.mkdtemp())
    try:
        stack.start_web(tmp)
        stack.start_worker(tmp)
        echo_url = start_echo(stack, tmp, "application" if args.floor == "channels" else "no_hop_application")
        runs = asyncio.run(scenario(stack, echo_url, workspace, cookies, args.visitors, args.rate))
    finally:
        stack.stop()
        drop_workspace(workspace)
    ratios = [r["p95_over_floor_p95"] for r in runs.values()]
    lost = sum(r["product"]["lost"] for r in runs.values())
    errors = sum(r["product"]["errors"] for r in runs.values())
    print(
        json.dumps(
            {
                "bench": "delivery",
                "agents": AGENTS,
                "ai": args.ai,
                "rate_per_s": args.rate,
                "floor": args.floor,
                "runs": {str(n): r for n, r in runs.items()},
                "send_path": "a message frame over the visitor's widget socket, as the widget sends with its socket open (saved, then pushed); floor: websocket frame to a bare Channels consumer",
                "rate_limits": f"WIDGET_RATE_LIMIT_PER_IP and WIDGET_LIVE_LIMIT_PER_IP={IP_LIMIT} for the bench (all visitors share 127.0.0.1); WIDGET_RATE_LIMIT_PER_VISITOR default (10/min)",
                "lost": lost,
                "errors": errors,
                "goal": "p95 <= 2x floor p95, lost 0",
                "goal_met": lost == 0 and errors == 0 and all(r is not None and r <= 2 for r in ratios),
            }
        )
    )


if __name__ == "__main__":
    main()
