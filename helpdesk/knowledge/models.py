"""The knowledge base: articles, FAQs and documents, and the chunks retrieval searches.

Items are written only through `knowledge.actions`, which marks them `processing` and
enqueues their indexing task; the task replaces the item's chunks and sets the status.
Retrieval reads chunks joined to their item, so disabling an item hides it at once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import FileExtensionValidator, MaxValueValidator
from django.db import models
from django.db.models.functions import Lower
from pgvector.django import HnswIndex, VectorField

from helpdesk.workspace.models import Workspace

# Text search configuration of the chunks' `search` column and of the queries.
SEARCH_CONFIG = "english"

DOCUMENT_TYPES = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
}

CHANNELS = ["widget"]  # where an article may be used; more channels (email, ...) come later


def default_channels() -> list[str]:
    return ["widget"]


def on_channel(channel: str, prefix: str = "") -> models.Q:
    """Articles published on `channel` (`prefix` "article__" from a related model): those that
    list it, and those that list no channel, which apply to every channel (as guidance rules do)."""
    return models.Q(**{f"{prefix}channels": []}) | models.Q(**{f"{prefix}channels__contains": [channel]})


def new_public_id() -> str:
    """An article's public id: 22 URL-safe characters, 128 random bits (unguessable)."""
    return secrets.token_urlsafe(16)


class IndexStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    ERROR = "error", "Error"


class Indexed(models.Model):
    """What every knowledge item has: its workspace and where its indexing stands."""

    kind: str  # "article", "faq" or "document": the item's name in URLs and in the activity log
    enabled_field = "enabled"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="%(class)ss")
    status = models.CharField(max_length=20, choices=IndexStatus.choices, default=IndexStatus.PROCESSING)
    status_detail = models.TextField(blank=True, help_text="Why indexing failed, in words for the admin.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def is_enabled(self) -> bool:
        return getattr(self, self.enabled_field)


class Article(Indexed):
    kind = "article"

    title = models.CharField(max_length=500)
    body = models.TextField(blank=True, help_text="Markdown.")
    enabled = models.BooleanField(default=True)
    channels = models.JSONField(default=default_channels, blank=True)
    url = models.URLField(max_length=2000, blank=True, help_text="Public link the AI may cite.")
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    # The article's address on the help pages (/help/<public_id>/): random, so that nobody can
    # walk the articles by counting, and never changed, so that cited links keep working.
    public_id = models.CharField(max_length=32, unique=True, editable=False, default=new_public_id)

    class Meta:
        indexes = [models.Index(fields=["workspace", "enabled"])]

    def __str__(self) -> str:
        return self.title


class FAQ(Indexed):
    kind = "faq"
    enabled_field = "active"

    question = models.CharField(max_length=500)
    answer = models.TextField()
    order = models.IntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "FAQ"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("question"), name="knowledge_faq_unique_question"),
        ]

    def __str__(self) -> str:
        return self.question


def document_upload_to(document: Document, filename: str) -> str:
    return f"knowledge/{document.workspace_id}/{filename}"


class Document(Indexed):
    kind = "document"

    title = models.CharField(max_length=500)
    file = models.FileField(
        upload_to=document_upload_to,
        max_length=500,
        validators=[FileExtensionValidator([ext.lstrip(".") for ext in DOCUMENT_TYPES])],
    )
    content_type = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])

    def __str__(self) -> str:
        return self.title

    @property
    def extension(self) -> str:
        return Path(self.file.name or "").suffix.lower()

    @property
    def filename(self) -> str:
        return Path(self.file.name or "").name


class Chunk(models.Model):
    """A passage of one item: what full-text and vector search rank."""

    class Kind(models.TextChoices):
        ARTICLE = "article", "Article"
        FAQ = "faq", "FAQ"
        DOCUMENT = "document", "Document"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    faq = models.ForeignKey(FAQ, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    position = models.PositiveIntegerField()
    # The item's title and the section path ("Title › Section › Subsection").
    heading = models.TextField(blank=True)
    text = models.TextField()
    search = models.GeneratedField(
        expression=SearchVector("heading", weight="A", config=SEARCH_CONFIG)
        + SearchVector("text", weight="B", config=SEARCH_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    # The column's size is fixed when the table is made; `manage.py reembed` resizes it.
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="article", article__isnull=False, faq__isnull=True, document__isnull=True)
                    | models.Q(kind="faq", article__isnull=True, faq__isnull=False, document__isnull=True)
                    | models.Q(kind="document", article__isnull=True, faq__isnull=True, document__isnull=False)
                ),
                name="knowledge_chunk_exactly_one_source",
            ),
        ]
        indexes = [
            GinIndex(fields=["search"], name="knowledge_chunk_search"),
            HnswIndex(
                name="knowledge_chunk_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["workspace", "kind"], name="knowledge_chunk_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} chunk {self.position}: {self.text[:40]}"

    @property
    def item(self) -> Article | FAQ | Document:
        item = self.article or self.faq or self.document
        assert item is not None  # knowledge_chunk_exactly_one_source
        return item
