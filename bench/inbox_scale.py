"""The inbox's first page and one conversation page, at 1k, 10k and 100k conversations.

A throwaway database on the embedded PostgreSQL (created, migrated and dropped by this
script). Three workspaces of 1k, 10k and 100k conversations, ten messages each (1M messages
at 100k), generated in bulk with INSERT ... SELECT generate_series and vacuumed (so that
autovacuum of the bulk load does not run during the measurements). For each workspace, as
its admin, Django's test Client in this process requests
  /inbox/          the first page (default filter: active conversations)
  /inbox/c/<pk>/   a conversation page (the whole page: list, thread, contact, previous)
and reports the server time p50/p95 (the Client call: middleware, view, queries, template)
and the number of queries (CaptureQueriesContext), taking turns between the three workspaces
and two pages. Prints one JSON line.

    .venv/bin/python bench/inbox_scale.py [--requests 100]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import _bench
from _bench import log, summary

SIZES = (1_000, 10_000, 100_000)
MESSAGES_PER_CONVERSATION = 10
WORDS = (
    "order parcel delivery refund invoice password account login shipping tracking payment card "
    "discount coupon return exchange size colour broken missing late address email phone subscription "
    "cancel upgrade plan trial export import report error page button app mobile desktop hello thanks "
    "please help urgent today tomorrow week number customer support question problem issue"
).split()


def grow(workspace_id: int, agent_id: int, start: int, stop: int) -> None:
    """Contacts, conversations and messages number start+1 .. stop of the workspace, in SQL."""
    from django.db import connection

    words = "{" + ",".join(WORDS) + "}"
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE IF NOT EXISTS bench_ids (n int, contact_id bigint, conversation_id bigint)")
        c.execute("TRUNCATE bench_ids")
        c.execute(
            """
            WITH new AS (
              INSERT INTO conversations_contact
                (workspace_id, external_id, verified, name, email, email_verified, traits, created_at, last_seen_at,
                 last_page_url)
              SELECT %s, NULL, false, 'Customer ' || n, 'customer' || n || '@example.com', false, '{}'::jsonb,
                     now() - interval '1 second' * (%s - n) * 60, NULL, ''
              FROM generate_series(%s, %s) AS n
              RETURNING id, email
            )
            INSERT INTO bench_ids (n, contact_id)
            SELECT substring(email from 'customer(\\d+)@')::int, id FROM new
            """,
            [workspace_id, stop, start + 1, stop],
        )
        # Conversation n: last activity n minutes after the first one (the newest is the
        # largest n); statuses and priorities spread over every value, a fifth assigned.
        c.execute(
            """
            WITH new AS (
              INSERT INTO conversations_conversation
                (workspace_id, channel, contact_id, status, priority, assignee_id, ai_resolved, ai_paused,
                 escalation_reason, page_url, created_at, first_response_at, last_message_at,
                 last_customer_message_at, agent_last_seen_at, resolved_at, last_message_preview)
              SELECT %s, 'widget', b.contact_id,
                     (ARRAY['new','open','pending','on_hold','resolved'])[1 + b.n %% 5],
                     b.n %% 5, CASE WHEN b.n %% 5 = 0 THEN %s END, false, false,
                     '', '', t - interval '1 hour', NULL, t, t, NULL, NULL,
                     'Customer ' || b.n || ' wrote about their order'
              FROM bench_ids b, LATERAL (SELECT timestamp with time zone '2025-01-01' + interval '1 minute' * b.n AS t) s
              RETURNING id, contact_id
            )
            UPDATE bench_ids SET conversation_id = new.id FROM new WHERE new.contact_id = bench_ids.contact_id
            """,
            [workspace_id, agent_id],
        )
        c.execute(
            """
            INSERT INTO conversations_message
              (workspace_id, conversation_id, author_kind, author_id, body, private, client_id, via, sources,
               attachment_count, created_at)
            SELECT %s, b.conversation_id,
                   CASE WHEN m %% 2 = 1 THEN 'customer' ELSE 'agent' END,
                   CASE WHEN m %% 2 = 1 THEN NULL ELSE %s::bigint END,
                   (%s::text[])[1 + (b.n * 7 + m * 13) %% %s] || ' ' || (%s::text[])[1 + (b.n * 3 + m) %% %s]
                     || ' for order ' || b.n || ', message ' || m || ' about '
                     || (%s::text[])[1 + (b.n + m * 11) %% %s] || ' and ' || (%s::text[])[1 + (b.n * 5 + m * 2) %% %s],
                   false, NULL, '', '[]'::jsonb, 0,
                   timestamp with time zone '2025-01-01' + interval '1 minute' * b.n - interval '1 second' * (%s - m)
            FROM bench_ids b, generate_series(1, %s) AS m
            """,
            [workspace_id, agent_id, *[words, len(WORDS)] * 4, MESSAGES_PER_CONVERSATION, MESSAGES_PER_CONVERSATION],
        )
        # Vacuum now, as a live database would have been by the time it held this many rows:
        # otherwise autovacuum starts on the bulk load in the middle of the measurements.
        for table in ("conversations_contact", "conversations_conversation", "conversations_message"):
            c.execute(f"VACUUM (ANALYZE) {table}")
        c.execute("CHECKPOINT")


def timed_get(client, url: str) -> tuple[float, int]:
    """One request: its time in ms and its number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed, len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()

    _bench.embedded_services()
    db = _bench.throwaway_database()
    # Pages render as in production (DEBUG off): static files collected under hashed names,
    # here into a throwaway directory so that a fresh checkout can run the bench too.
    static_root = tempfile.TemporaryDirectory(prefix="bench-static-")
    os.environ["STATIC_ROOT"] = static_root.name
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connection
    from django.test import Client

    from helpdesk.accounts.models import Membership, User
    from helpdesk.workspace.models import Workspace

    log(f"migrating {db}")
    call_command("migrate", verbosity=0)
    sites = {}
    for size in SIZES:
        workspace = Workspace.objects.create(name=f"Bench inbox {size}")
        admin = User.objects.create_user(f"admin-{size}@bench.test", "bench-password-1", name="Admin")
        Membership.objects.create(user=admin, workspace=workspace, role=Membership.Role.ADMIN)
        started = time.monotonic()
        grow(workspace.pk, admin.pk, 0, size)
        with connection.cursor() as c:
            c.execute("SELECT count(*) FROM conversations_message WHERE workspace_id = %s", [workspace.pk])
            messages = c.fetchone()[0]
            # the newest conversation: the top row of the inbox
            c.execute(
                "SELECT id FROM conversations_conversation WHERE workspace_id = %s ORDER BY last_message_at DESC, id DESC LIMIT 1",
                [workspace.pk],
            )
            newest = c.fetchone()[0]
        log(f"{size} conversations, {messages} messages generated in {time.monotonic() - started:.1f}s")
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)
        pages = {"inbox": "/inbox/", "conversation": f"/inbox/c/{newest}/"}
        sites[size] = {"client": client, "pages": pages, "workspace": workspace, "newest": newest, "messages": messages}

    # Round-robin over every size and page, so that a slow moment of the machine falls on all
    # of them alike rather than on whichever size was being measured then.
    for site in sites.values():  # warm-up: templates, caches, plans; the first visit marks the conversation seen
        for url in site["pages"].values():
            for _ in range(3):
                timed_get(site["client"], url)
    samples = {(size, page): ([], []) for size in SIZES for page in ("inbox", "conversation")}
    for _ in range(args.requests):
        for size, site in sites.items():
            for page, url in site["pages"].items():
                ms, queries = timed_get(site["client"], url)
                samples[size, page][0].append(ms)
                samples[size, page][1].append(queries)
    results = {
        size: {
            "messages": sites[size]["messages"],
            **{
                page: {**summary(samples[size, page][0]), "queries": sorted(set(samples[size, page][1]))}
                for page in ("inbox", "conversation")
            },
        }
        for size in SIZES
    }
    for size in SIZES:
        log(size, json.dumps(results[size]))

    # The same conversation page with a longer thread: does the page's query count depend on
    # the number of messages shown?
    largest = sites[SIZES[-1]]
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO conversations_message"
            " (workspace_id, conversation_id, author_kind, body, private, via, sources, attachment_count, created_at)"
            " SELECT %s, %s, 'customer', 'one more message ' || m, false, '', '[]'::jsonb, 0, now()"
            " FROM generate_series(1, 40) AS m",
            [largest["workspace"].pk, largest["newest"]],
        )
    timed_get(largest["client"], largest["pages"]["conversation"])  # marks the new messages seen
    _ms, long_q = timed_get(largest["client"], largest["pages"]["conversation"])
    thread_queries = {"10_messages": results[SIZES[-1]]["conversation"]["queries"][0], "50_messages": long_q}
    log("conversation page queries by thread length", thread_queries)

    small, large = results[SIZES[0]], results[SIZES[-1]]
    ratio = {page: round(large[page]["p95_ms"] / small[page]["p95_ms"], 2) for page in ("inbox", "conversation")}
    constant = all(
        len(results[s][page]["queries"]) == 1 and results[s][page]["queries"] == small[page]["queries"]
        for s in SIZES
        for page in ("inbox", "conversation")
    )
    worst_p95 = max(results[s][page]["p95_ms"] for s in SIZES for page in ("inbox", "conversation"))
    print(
        json.dumps(
            {
                "bench": "inbox_scale",
                "requests_per_page": args.requests,
                "sizes": {f"{s // 1000}k": results[s] for s in SIZES},
                "p95_ratio_100k_to_1k": ratio,
                "constant_queries": constant,
                "conversation_queries_by_thread_length": thread_queries,
                "goal": "100k p95 <= 1.5x 1k p95, p95 < 50 ms, constant queries",
                "goal_met_for_size": constant and worst_p95 < 50 and max(ratio.values()) <= 1.5,
            }
        )
    )


if __name__ == "__main__":
    main()
