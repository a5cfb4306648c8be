"""Mail to the inbox: N mails through the product's receiving SMTP server, at a steady rate.

Real processes over the embedded PostgreSQL and a Redis of the bench's own: the `mail`
process (`manage.py inbound_smtp`), the web (daphne) for an agent's inbox websocket, and the
worker. Each mail is sent over its own SMTP connection (as another mail server sends), from
one of 200 senders, in threads paced open-loop at --rate a second; the clock of a mail starts
when its connection is opened and stops when the agent's inbox socket receives its text
rendered (stored, placed in a conversation, pushed). `lost` counts mails that never arrived
there (waited for up to 15 s after the last send); `refused` counts mails the server did not
take with 250. The workspace's AI is off (bench/ai_first_token.py measures the AI) and it has
no away message. Prints one JSON line.

    .venv/bin/python bench/mail_in.py [--mails 1000] [--rate 20]

(Not bench/email.py: bench/ is on the path of its scripts, and that name would hide the
standard library's email package from all of them.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import smtplib
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import _bench
from _bench import log, summary
from delivery import drop_workspace, make_workspace, open_agents


def mail(run: str, seq: int, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {seq % 200} <customer{seq % 200}@bench.example>"
    message["To"] = to
    message["Subject"] = f"Order question {seq}"
    message["Message-ID"] = make_msgid(domain="bench.example")
    message.set_content(
        f"Hello, my order has not arrived yet. Could you check it? bm{run}x{seq}x\n\n"
        "Thanks,\nA customer\n\nOn Mon, Support wrote:\n> We have shipped it.\n"
    )
    return bytes(message)


async def scenario(stack, mail_port: int, cookie: str, to: str, total: int, rate: float) -> dict:
    run = uuid.uuid4().hex[:8]
    pattern = re.compile(rf"bm{run}x(\d+)x")
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    refused: list[str] = []
    lock = threading.Lock()
    agents = await open_agents(f"{stack.ws_url}/ws/inbox/", stack.base_url, [cookie])

    def on_frame(frame) -> None:
        now = time.perf_counter()
        for seq in set(pattern.findall(frame if isinstance(frame, str) else frame.decode())):
            arrived.setdefault(int(seq), now)

    agents.handlers = [on_frame]
    raw = [mail(run, k, to) for k in range(total)]

    def send(k: int) -> None:
        started = time.perf_counter()
        with lock:
            sent[k] = started
        try:
            with smtplib.SMTP("127.0.0.1", mail_port, timeout=30) as smtp:
                failed = smtp.sendmail(f"customer{k % 200}@bench.example", [to], raw[k])
            if failed:
                refused.append(str(failed))
        except smtplib.SMTPException as e:
            refused.append(f"{type(e).__name__}: {e}")

    loop_started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for k in range(total):
            delay = loop_started + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            futures.append(pool.submit(send, k))
        await asyncio.to_thread(lambda: [f.result() for f in futures])
    sending = time.perf_counter() - loop_started
    deadline = time.monotonic() + 15
    while len(arrived) < total and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await agents.close()
    ms = [(arrived[k] - sent[k]) * 1000 for k in arrived if k in sent]
    return {
        **summary(ms),
        "mails": total,
        "sent_in_s": round(sending, 1),
        "mails_per_s": round(total / sending, 1),
        "lost": total - len(arrived),
        "refused": len(refused),
        **({"first_refusal": refused[0]} if refused else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()

    _bench.socket_bench_setup()
    from helpdesk.mail import addresses
    from helpdesk.mail.models import ensure_settings
    from tests.processes import Stack, stack_env

    workspace, cookies = make_workspace(1)
    to = addresses.support_address(ensure_settings(workspace))
    env = stack_env()
    env.pop("DATABASE_URL")
    # 200 senders write 5 mails each: within the default automatic-answer rate of 30 an hour.
    env.update(LOG_LEVEL="ERROR")
    stack = Stack(env=env)
    tmp = Path(tempfile.mkdtemp())
    try:
        stack.start_web(tmp)
        stack.start_worker(tmp)
        mail_port = stack.start_mail(tmp)
        log(f"sending {args.mails} mails at {args.rate}/s to {to}")
        result = asyncio.run(scenario(stack, mail_port, cookies[0], to, args.mails, args.rate))
    finally:
        stack.stop()
        drop_workspace(workspace)
    print(
        json.dumps(
            {
                "bench": "mail_in",
                "rate_per_s": args.rate,
                "mail_to_inbox": result,
                "measured": "SMTP connection opened until the agent's inbox websocket has the mail's text",
                "goal": "p95 < 1000 ms at 20 mails a second, lost 0",
                "goal_met": result["lost"] == 0
                and result["refused"] == 0
                and result.get("p95_ms", 1e9) < 1000
                and args.rate >= 20,
            }
        )
    )


if __name__ == "__main__":
    main()
