"""Hybrid retrieval (helpdesk.knowledge.retrieval.search, the function the AI calls) over
10k and 100k chunks of one workspace.

A throwaway database on the embedded PostgreSQL (created, migrated and dropped by this
script). Articles of ten chunks each are generated in SQL (INSERT ... SELECT
generate_series), chunks by a binary COPY: 60 words each drawn with Zipf's law over a
helpdesk vocabulary and a long tail of made-up words, so full-text search has common and
rare lexemes to rank, and EMBEDDING_DIMENSIONS-long vectors from a deterministic generator
(numpy's default_rng, seeded). The product's
indexes (GIN on the search column, HNSW on the vectors) are dropped for the bulk insert
and created again with their own definitions. The query embedding comes from the same
generator: `embeddings.embed_query` is monkeypatched in this process, so no provider is
needed. Each search is timed end to end (lexemes, idf, full-text, vector, fusion, hits).
Prints one JSON line.

    .venv/bin/python bench/retrieval_scale.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import time

import _bench
from _bench import log, summary

SIZES = (10_000, 100_000)
CHUNKS_PER_ARTICLE = 10
WORDS_PER_CHUNK = 60
RARE_WORDS = 30_000
# Roughly most common first: the generator picks low indexes far more often.
VOCABULARY = (
    "the to and a of you your is in for it on can with we this that be are if please order account "
    "will not have from our at or as an do by when how get use what payment email password delivery "
    "shipping refund return customer support app page settings click button new change update time "
    "days card invoice plan subscription team user login sign open help contact message phone address "
    "country price cost free trial cancel upgrade download export import report data file upload share "
    "link browser mobile android iphone desktop windows mac install error problem issue fix working "
    "slow crash sync backup restore delete remove add edit save profile name company tax vat receipt "
    "billing charge bank transfer paypal credit debit currency euro dollar pound discount coupon code "
    "voucher gift wrap parcel package tracking courier warehouse stock size colour color fit exchange "
    "damaged broken missing late lost wrong item product warranty repair replacement manual guide "
    "battery charger cable screen keyboard printer network wifi bluetooth router firmware version "
    "release beta feature request api token webhook integration slack calendar schedule reminder "
    "notification alert security privacy gdpr consent cookie session password reset two factor "
    "authentication verify identity document passport licence student nonprofit education enterprise "
    "seat seats license renewal annual monthly quarterly pause resume transfer ownership domain dns "
    "certificate ssl migrate migration legacy archive retention quota limit storage bandwidth"
).split()
QUESTIONS = [
    "How do I reset my password?",
    "Where is my parcel? The tracking link shows nothing",
    "Can I get a refund for a damaged item?",
    "How long does delivery to Norway take?",
    "My invoice has the wrong VAT number",
    "The app crashes when I upload a file on android",
    "How do I cancel my subscription before the renewal?",
    "Do you offer a discount for students or nonprofit organisations?",
    "Two factor authentication code is not working",
    "How can I export my data and delete my account under GDPR?",
    "What payment methods do you accept, PayPal or bank transfer?",
    "Printer firmware update failed with error code7731",
    "How to migrate from the legacy plan to enterprise seats?",
    "The webhook integration with Slack stopped sending notifications",
    "Is there a storage quota limit on the free trial?",
    "Change the billing currency from dollar to euro",
    "Bluetooth keyboard will not pair with my mac",
    "How do I transfer ownership of the team to a colleague?",
    "I was charged twice on my credit card",
    "Replacement battery under warranty, how does the repair work?",
]


def bench_vectors(key: int, n: int, dims: int):
    """The deterministic generator of every vector: `n` standard normal vectors from seed `key`."""
    import numpy as np

    return np.random.default_rng(key).standard_normal((n, dims), dtype=np.float32)


def bench_texts(key: int, n: int, words: int) -> list[str]:
    """`n` passages of `words` words drawn with Zipf's law (word of rank r has probability
    proportional to 1/r, as in natural text) over the helpdesk vocabulary followed by
    RARE_WORDS made-up words (product names, codes: the long tail of a real vocabulary)."""
    import numpy as np

    rng = np.random.default_rng(key)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "bu", "so", "di", "fa", "gu", "ho", "je"]
    rare = ["".join(syllables[(i >> s) & 15] for s in (0, 4, 8)) + str(i % 97) for i in range(RARE_WORDS)]
    vocabulary = np.array(VOCABULARY + rare, dtype=object)
    p = 1 / np.arange(1, len(vocabulary) + 1)
    picks = rng.choice(len(vocabulary), size=(n, words), p=p / p.sum())
    return [" ".join(row) for row in vocabulary[picks]]


def grow(workspace_id: int, start: int, stop: int, dims: int) -> None:
    """Chunks start+1 .. stop of the workspace (and their articles): articles by
    INSERT ... SELECT generate_series, chunks by a binary COPY."""
    from django.db import connection
    from pgvector.psycopg import register_vector

    first_article, last_article = start // CHUNKS_PER_ARTICLE + 1, stop // CHUNKS_PER_ARTICLE
    with connection.cursor() as c:
        c.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'knowledge_chunk'"
            " AND indexname IN ('knowledge_chunk_search', 'knowledge_chunk_embedding')"
        )
        indexes = [row[0] for row in c.fetchall()]
        c.execute("DROP INDEX IF EXISTS knowledge_chunk_search, knowledge_chunk_embedding")
        c.execute(
            """
            INSERT INTO knowledge_article
              (workspace_id, status, status_detail, created_at, updated_at, title, body, enabled, channels, url, progress,
               public_id)
            SELECT %s, 'ready', '', now(), now(), 'Article ' || n || ': ' || (%s::text[])[1 + n %% 40] || ' '
                   || (%s::text[])[1 + (n * 7) %% 200], '', true, '["widget"]'::jsonb, '', 100,
                   'bench-' || %s || '-' || n
            FROM generate_series(%s, %s) AS n
            """,
            [workspace_id, VOCABULARY, VOCABULARY, workspace_id, first_article, last_article],
        )
        c.execute(
            "SELECT id, title FROM knowledge_article WHERE workspace_id = %s ORDER BY id OFFSET %s",
            [workspace_id, first_article - 1],
        )
        articles = c.fetchall()
    n = len(articles) * CHUNKS_PER_ARTICLE
    texts = bench_texts(start, n, WORDS_PER_CHUNK)
    vectors = bench_vectors(start, n, dims)
    raw = connection.connection
    register_vector(raw)
    with raw.cursor() as cur:
        with cur.copy(
            "COPY knowledge_chunk (workspace_id, kind, article_id, position, heading, text, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["bigint", "varchar", "bigint", "int4", "text", "text", "vector"])
            i = 0
            for article_id, title in articles:
                for position in range(1, CHUNKS_PER_ARTICLE + 1):
                    copy.write_row(
                        [
                            workspace_id,
                            "article",
                            article_id,
                            position,
                            f"{title} › Section {position}",
                            texts[i],
                            vectors[i],
                        ]
                    )
                    i += 1
    with connection.cursor() as c:
        started = time.monotonic()
        c.execute("SET maintenance_work_mem = '1GB'")
        c.execute("SET max_parallel_maintenance_workers = 2")
        for definition in indexes:
            c.execute(definition)
        c.execute("RESET maintenance_work_mem")
        c.execute("RESET max_parallel_maintenance_workers")
        log(f"indexes built in {time.monotonic() - started:.1f}s")
        c.execute("VACUUM ANALYZE knowledge_chunk")
        c.execute("ANALYZE knowledge_article")
        # Flush the bulk load's writes now rather than in a checkpoint during the searches.
        c.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4, help="times each of the 20 questions is asked per size")
    args = parser.parse_args()

    _bench.embedded_services()
    db = _bench.throwaway_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.knowledge import embeddings, retrieval
    from helpdesk.workspace.models import Workspace

    dims = settings.EMBEDDING_DIMENSIONS
    # The provider is replaced by the generator the chunks' vectors come from (in this process only).
    embeddings.embed_query = lambda text, workspace_id=None: bench_vectors(1_000_000 + QUESTIONS.index(text), 1, dims)[
        0
    ].tolist()

    log(f"migrating {db}")
    call_command("migrate", verbosity=0)
    connection.ensure_connection()
    workspace = Workspace.objects.create(name="Bench knowledge")
    results = {}
    have = 0
    for size in SIZES:
        started = time.monotonic()
        grow(workspace.pk, have, size, dims)
        have = size
        log(f"{size} chunks generated and indexed in {time.monotonic() - started:.1f}s")
        for question in QUESTIONS:  # warm-up
            retrieval.search(workspace, question, k=5)
        ms, empty = [], 0
        for _ in range(args.rounds):
            for question in QUESTIONS:
                t = time.perf_counter()
                hits = retrieval.search(workspace, question, k=5)
                ms.append((time.perf_counter() - t) * 1000)
                empty += not hits
        results[size] = {**summary(ms), "empty_results": empty}
        log(size, json.dumps(results[size]))

    worst = max(r["p95_ms"] for r in results.values())
    print(
        json.dumps(
            {
                "bench": "retrieval_scale",
                "searches_per_size": args.rounds * len(QUESTIONS),
                "dimensions": dims,
                "sizes": {f"{s // 1000}k": results[s] for s in SIZES},
                "text": f"{WORDS_PER_CHUNK} words a chunk, Zipf (1/rank) over {len(VOCABULARY)} helpdesk words + {RARE_WORDS} made-up words",
                "query_embedding": "monkeypatched: embeddings.embed_query in-process: seeded numpy vectors, the chunks' generator (no provider)",
                "goal_p95_ms": 30,
                "goal_met": worst <= 30,
            }
        )
    )


if __name__ == "__main__":
    main()
