"""The one place that writes knowledge items. Every change that alters what an item says
marks it `processing` and enqueues its indexing after commit; enabling re-indexes too.
Disabling needs no indexing: retrieval only reads chunks of enabled (active) items."""

from __future__ import annotations

from django.core.files import File
from django.db import transaction

from helpdesk.accounts.models import Workspace
from helpdesk.knowledge import indexing
from helpdesk.knowledge.models import CHANNELS, DOCUMENT_TYPES, FAQ, Article, Document, IndexStatus

Item = Article | FAQ | Document

EDITABLE: dict[type, set[str]] = {
    Article: {"title", "body", "enabled", "channels", "url"},
    FAQ: {"question", "answer", "order", "active"},
    Document: {"title", "file", "enabled"},
}


def _task(item: Item):
    from helpdesk.knowledge import tasks

    return {Article: tasks.index_article, FAQ: tasks.index_faq, Document: tasks.index_document}[type(item)]


def _enabled_field(item: Item) -> str:
    return "active" if isinstance(item, FAQ) else "enabled"


def _channels(channels: list[str] | None) -> list[str]:
    channels = list(dict.fromkeys(channels if channels is not None else ["widget"]))
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels: {', '.join(unknown)}")
    return channels


def _document_type(name: str) -> str:
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in DOCUMENT_TYPES:
        raise ValueError(f"unsupported file type {extension or '(none)'}: use one of {', '.join(sorted(DOCUMENT_TYPES))}")
    return DOCUMENT_TYPES[extension]


def _queue_indexing(item: Item) -> None:
    """Mark the item processing now; index it once the transaction has committed."""
    fields = {"status": IndexStatus.PROCESSING, "status_detail": ""}
    if hasattr(item, "progress"):
        fields["progress"] = 0
    type(item).objects.filter(pk=item.pk).update(**fields)
    for name, value in fields.items():
        setattr(item, name, value)
    task, pk = _task(item), item.pk
    transaction.on_commit(lambda: task.enqueue(pk))


def reindex(item: Item) -> Item:
    """Index the item again from its current content (after a save made elsewhere, e.g. the
    Django admin, or to retry an error)."""
    with transaction.atomic():
        _queue_indexing(item)
    return item


# ---------------------------------------------------------------- create


def create_article(
    workspace: Workspace, *, title: str, body: str = "", enabled: bool = True, channels: list[str] | None = None, url: str = ""
) -> Article:
    with transaction.atomic():
        article = Article.objects.create(
            workspace=workspace, title=title, body=body, enabled=enabled, channels=_channels(channels), url=url
        )
        _queue_indexing(article)
    return article


def create_faq(workspace: Workspace, *, question: str, answer: str, order: int = 0, active: bool = True) -> FAQ:
    """Raises IntegrityError when the workspace already has this question (in any case)."""
    with transaction.atomic():
        faq = FAQ.objects.create(workspace=workspace, question=question.strip(), answer=answer, order=order, active=active)
        _queue_indexing(faq)
    return faq


def create_document(workspace: Workspace, *, title: str, file: File, enabled: bool = True) -> Document:
    content_type = _document_type(file.name)
    with transaction.atomic():
        document = Document(workspace=workspace, title=title, content_type=content_type, enabled=enabled)
        document.file.save(file.name.rsplit("/", 1)[-1], file, save=False)
        stored = document.file.name
        try:
            document.save()
        except Exception:
            document.file.storage.delete(stored)
            raise
        _queue_indexing(document)
    return document


# ---------------------------------------------------------------- edit


def update(item: Item, **changes) -> Item:
    """Edit an item's fields; what changes its content re-indexes it."""
    model = type(item)
    unknown = set(changes) - EDITABLE[model]
    if unknown:
        raise ValueError(f"cannot edit {', '.join(sorted(unknown))} of a {model.__name__}")
    enabled = changes.pop(_enabled_field(item), None)
    with transaction.atomic():
        item = model.objects.select_for_update().get(pk=item.pk)
        before = indexing.fingerprint(item)
        old_file = item.file.name if isinstance(item, Document) else None
        for name, value in changes.items():
            if name == "channels":
                value = _channels(value)
            if name == "question":
                value = value.strip()
            if name == "file":
                item.content_type = _document_type(value.name)
                item.file.save(value.name.rsplit("/", 1)[-1], value, save=False)
                continue
            setattr(item, name, value)
        item.save()
        if indexing.fingerprint(item) != before:
            _queue_indexing(item)
        if isinstance(item, Document) and old_file and item.file.name != old_file:
            storage = item.file.storage
            transaction.on_commit(lambda: storage.delete(old_file))
    if enabled is not None:
        item = enable(item) if enabled else disable(item)
    return item


def enable(item: Item) -> Item:
    """Make the item findable again, re-indexed from its current content."""
    field = _enabled_field(item)
    with transaction.atomic():
        item = type(item).objects.select_for_update().get(pk=item.pk)
        if getattr(item, field):
            return item
        setattr(item, field, True)
        item.save(update_fields=[field, "updated_at"])
        _queue_indexing(item)
    return item


def disable(item: Item) -> Item:
    """Hide the item from retrieval at once (its chunks stay, for a quick re-enable)."""
    field = _enabled_field(item)
    with transaction.atomic():
        item = type(item).objects.select_for_update().get(pk=item.pk)
        if getattr(item, field):
            setattr(item, field, False)
            item.save(update_fields=[field, "updated_at"])
    return item


def delete(item: Item) -> None:
    """Delete the item and its chunks (and a document's file, once committed)."""
    with transaction.atomic():
        file_name = item.file.name if isinstance(item, Document) else None
        storage = item.file.storage if isinstance(item, Document) else None
        type(item).objects.filter(pk=item.pk).delete()
        if file_name:
            transaction.on_commit(lambda: storage.delete(file_name))
