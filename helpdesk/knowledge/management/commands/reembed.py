"""Compute the embedding of every chunk again, in batches: after EMBEDDING_PROVIDER,
the embedding model or EMBEDDING_DIMENSIONS changed. A new size resizes the column first
(its vectors are dropped: vectors of another model are meaningless to the new one)."""

from __future__ import annotations

from itertools import groupby

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from helpdesk.knowledge import embeddings
from helpdesk.knowledge.models import Chunk


def column_dimensions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'knowledge_chunk'::regclass AND attname = 'embedding'"
        )
        return cursor.fetchone()[0]


def resize_column(dimensions: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        # Deferred foreign-key checks of this transaction would block the ALTER: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The HNSW index is rebuilt by PostgreSQL along with the column.
        cursor.execute(f"ALTER TABLE knowledge_chunk ALTER COLUMN embedding TYPE vector({int(dimensions)}) USING NULL")


def store(chunks: list[Chunk], vectors: list[list[float]]) -> None:
    """Write the vectors as the column is now (its size may differ from the model's field
    until the process restarts with the new EMBEDDING_DIMENSIONS)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_chunk SET embedding = new.embedding::vector"
            " FROM unnest(%s::bigint[], %s::text[]) AS new(id, embedding) WHERE knowledge_chunk.id = new.id",
            [[chunk.pk for chunk in chunks], ["[" + ",".join(map(repr, vector)) + "]" for vector in vectors]],
        )


class Command(BaseCommand):
    help = "Re-embed every knowledge chunk with the configured embedding provider."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=embeddings.BATCH_SIZE)
        parser.add_argument("--missing", action="store_true", help="only chunks that have no embedding yet")

    def handle(self, *args, batch_size: int, missing: bool, **options):
        if not embeddings.active():
            raise CommandError("EMBEDDING_PROVIDER is none: there is nothing to embed.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        size = settings.EMBEDDING_DIMENSIONS
        if column_dimensions() != size:
            self.stdout.write(f"Resizing the embedding column from {column_dimensions()} to {size} dimensions.")
            resize_column(size)
            missing = False
        chunks = Chunk.objects.order_by("id")
        if missing:
            chunks = chunks.filter(embedding__isnull=True)
        total = chunks.count()
        done, last_id = 0, 0
        while True:
            batch = list(chunks.filter(id__gt=last_id).only("id", "workspace_id", "heading", "text")[:batch_size])
            if not batch:
                break
            try:
                vectors: list[list[float]] = []
                # Each workspace's chunks with its own embedding model (its AI settings).
                for workspace_id, group in groupby(batch, key=lambda chunk: chunk.workspace_id):
                    found = embeddings.embed_chunks(
                        [(chunk.heading, chunk.text) for chunk in group], workspace_id=workspace_id
                    )
                    assert found is not None  # None only when inactive: refused above
                    vectors += found
            except embeddings.EmbeddingError as exc:
                raise CommandError(f"{exc} (after {done} of {total} chunks)") from exc
            store(batch, vectors)
            done += len(batch)
            last_id = batch[-1].id
            self.stdout.write(f"{done}/{total}", ending="\r")
        self.stdout.write(f"Re-embedded {done} chunks with {settings.EMBEDDING_PROVIDER} ({size} dimensions).")
