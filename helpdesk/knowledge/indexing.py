"""Turn one knowledge item into chunks (with vectors), replacing its previous chunks.

Called by the tasks in `knowledge.tasks` with an item's id. Idempotent: running it again
gives the same chunks. The slow part (reading files, embedding) runs outside any
transaction; the swap of chunks and the status change happen in one transaction, under a
lock on the item, and only if the item still has the content that was indexed (otherwise a
newer task, enqueued by the edit, does the work).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from django.db import transaction

from helpdesk.knowledge import chunking, embeddings
from helpdesk.knowledge.extract import ExtractionError, extract
from helpdesk.knowledge.models import FAQ, Article, Chunk, Document, IndexStatus

log = logging.getLogger(__name__)

Item = Article | FAQ | Document
KINDS: dict[type, str] = {Article: Chunk.Kind.ARTICLE, FAQ: Chunk.Kind.FAQ, Document: Chunk.Kind.DOCUMENT}


def fingerprint(item: Item) -> str:
    """What the chunks are made from: when it changes, the item needs indexing again."""
    if isinstance(item, Article):
        parts = [item.title, item.body]
    elif isinstance(item, FAQ):
        parts = [item.question, item.answer]
    else:
        parts = [item.title, item.file.name or ""]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class _Progress:
    """Writes an item's progress (0-100) now and then; items without progress ignore it."""

    def __init__(self, item: Item):
        self.model = type(item)
        self.pk = item.pk
        self.enabled = hasattr(item, "progress")
        self.last = -100

    def __call__(self, percent: float) -> None:
        percent = max(0, min(100, int(percent)))
        if self.enabled and (percent - self.last >= 5 or percent == 100):
            self.model.objects.filter(pk=self.pk).update(progress=percent)
            self.last = percent

    def span(self, start: float, end: float) -> Callable[[int, int], None]:
        """A callback for `done of total` steps that fills progress from start to end."""
        return lambda done, total: self(start + (end - start) * done / max(total, 1))


def index(model: type[Item], pk: int) -> None:
    item = model.objects.filter(pk=pk).first()
    if item is None:
        return
    snapshot = fingerprint(item)
    try:
        _index(item, snapshot)
    except Exception as exc:
        # A bug or an outage: say so on the item (its previous chunks stay), and let the task fail.
        log.exception("indexing %s %s failed", model.__name__, pk)
        detail = f"Indexing failed unexpectedly ({exc.__class__.__name__}: {exc}); try again later."
        with transaction.atomic():
            current = model.objects.select_for_update().filter(pk=pk).first()
            if current is not None and fingerprint(current) == snapshot:
                model.objects.filter(pk=pk).update(status=IndexStatus.ERROR, status_detail=detail)
        raise


def _index(item: Item, snapshot: str) -> None:
    progress = _Progress(item)
    progress(0)
    try:
        pieces = _pieces(item, progress)
    except ExtractionError as exc:
        _finish(item, snapshot, pieces=None, error=str(exc))
        return
    vectors, error = None, ""
    try:
        vectors = embeddings.embed_chunks(
            [(p.heading, p.text) for p in pieces], progress=progress.span(50, 99), workspace_id=item.workspace_id
        )
    except embeddings.EmbeddingError as exc:
        error = f"Embeddings failed ({exc}); found by keyword search only until indexed again."
    _finish(item, snapshot, pieces=pieces, vectors=vectors, error=error)


def _pieces(item: Item, progress: _Progress) -> list[chunking.Piece]:
    if isinstance(item, FAQ):
        return chunking.chunk_faq(item.question, item.answer)
    if isinstance(item, Article):
        return chunking.chunk_markdown(item.title, item.body)
    try:
        with item.file.open("rb") as f:
            data = f.read()
    except (OSError, ValueError) as exc:
        raise ExtractionError(f"The file could not be opened ({exc}).") from exc
    text = extract(data, item.extension, progress=progress.span(0, 50))
    return chunking.chunk_markdown(item.title, text)


def _finish(
    item: Item,
    snapshot: str,
    *,
    pieces: list[chunking.Piece] | None,
    vectors: list[list[float]] | None = None,
    error: str = "",
) -> None:
    """Swap the item's chunks and set its status, if the item still is what was indexed."""
    model = type(item)
    kind = KINDS[model]
    with transaction.atomic():
        current = model.objects.select_for_update().filter(pk=item.pk).first()
        if current is None or fingerprint(current) != snapshot:
            return  # deleted or edited meanwhile: the edit's own task takes over
        Chunk.objects.filter(**{kind: current}).delete()
        if pieces:
            Chunk.objects.bulk_create(
                Chunk(
                    workspace_id=current.workspace_id,
                    kind=kind,
                    **{kind: current},
                    position=position,
                    heading=piece.heading,
                    text=piece.text,
                    embedding=vectors[position] if vectors else None,
                )
                for position, piece in enumerate(pieces)
            )
        fields: dict[str, str | int] = {
            "status": IndexStatus.ERROR if error else IndexStatus.READY,
            "status_detail": error,
        }
        if hasattr(current, "progress"):
            fields["progress"] = 100 if pieces is not None else 0
        model.objects.filter(pk=current.pk).update(**fields)


def reembed_workspace(workspace_id: int, batch_size: int = embeddings.BATCH_SIZE) -> int:
    """Compute the vectors of a workspace's chunks again (its embedding model changed).
    Chunks keep their text; only the vectors are replaced, batch by batch. Returns how many."""
    if not embeddings.active():
        return 0
    done, last_id = 0, 0
    chunks = Chunk.objects.filter(workspace_id=workspace_id).order_by("id")
    while batch := list(chunks.filter(id__gt=last_id).only("id", "heading", "text")[:batch_size]):
        vectors = embeddings.embed_chunks([(c.heading, c.text) for c in batch], workspace_id=workspace_id)
        assert vectors is not None  # None only when inactive: returned above
        for chunk, vector in zip(batch, vectors):
            chunk.embedding = vector
        Chunk.objects.bulk_update(batch, ["embedding"])
        done += len(batch)
        last_id = batch[-1].id
    return done
