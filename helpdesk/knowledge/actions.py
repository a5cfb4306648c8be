"""The one place that writes knowledge items. Every change that alters what an item says
marks it `processing` and enqueues its indexing after commit; enabling re-indexes too.
Disabling needs no indexing: retrieval only reads chunks of enabled (active) items.

Every change is recorded in the workspace's activity log in the same transaction, with the
`actor` who made it (None for the system: the demo seed, the Django admin)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from helpdesk.accounts.models import User
from helpdesk.knowledge import indexing, tasks
from helpdesk.knowledge.models import CHANNELS, DOCUMENT_TYPES, FAQ, Article, Document, IndexStatus
from helpdesk.workspace import activity
from helpdesk.workspace.models import Workspace

Item = Article | FAQ | Document

EDITABLE: dict[type, set[str]] = {
    Article: {"title", "body", "enabled", "channels", "url"},
    FAQ: {"question", "answer", "order", "active"},
    Document: {"title", "file", "enabled"},
}


def _task(item: Item):
    return {Article: tasks.index_article, FAQ: tasks.index_faq, Document: tasks.index_document}[type(item)]


def _channels(channels: list[str] | None) -> list[str]:
    channels = list(dict.fromkeys(channels if channels is not None else ["widget"]))
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels: {', '.join(unknown)}")
    return channels


def _document_type(name: str) -> str:
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in DOCUMENT_TYPES:
        raise ValueError(
            f"unsupported file type {extension or '(none)'}: use one of {', '.join(sorted(DOCUMENT_TYPES))}"
        )
    return DOCUMENT_TYPES[extension]


def check_document(file: File) -> str:
    """The file's content type, or ValueError saying why it cannot be uploaded."""
    content_type = _document_type(file.name or "")
    limit = settings.KNOWLEDGE_DOCUMENT_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise ValueError(f"the file is too large ({filesizeformat(file.size)}): the limit is {filesizeformat(limit)}")
    return content_type


def _record(item: Item, actor: User | None, verb: str, **detail) -> None:
    name = "question" if isinstance(item, FAQ) else "title"
    activity.record(item.workspace, actor, f"knowledge.{item.kind}_{verb}", id=item.pk, **{name: str(item)}, **detail)


def _queue_indexing(item: Item) -> None:
    """Mark the item processing now; index it once the transaction has committed."""
    fields: dict[str, str | int] = {"status": IndexStatus.PROCESSING, "status_detail": ""}
    if hasattr(item, "progress"):
        fields["progress"] = 0
    type(item).objects.filter(pk=item.pk).update(**fields)
    for name, value in fields.items():
        setattr(item, name, value)
    task, pk = _task(item), item.pk
    transaction.on_commit(lambda: task.enqueue(pk))


def reindex(item: Item, *, actor: User | None = None) -> Item:
    """Index the item again from its current content (after a save made elsewhere, e.g. the
    Django admin, or to retry an error)."""
    with transaction.atomic():
        _queue_indexing(item)
        _record(item, actor, "reindexed")
    return item


# ---------------------------------------------------------------- create


def create_article(
    workspace: Workspace,
    *,
    title: str,
    body: str = "",
    enabled: bool = True,
    channels: list[str] | None = None,
    url: str = "",
    actor: User | None = None,
) -> Article:
    with transaction.atomic():
        article = Article.objects.create(
            workspace=workspace, title=title, body=body, enabled=enabled, channels=_channels(channels), url=url
        )
        _queue_indexing(article)
        _record(article, actor, "created")
    return article


def create_faq(
    workspace: Workspace, *, question: str, answer: str, order: int = 0, active: bool = True, actor: User | None = None
) -> FAQ:
    """Raises IntegrityError when the workspace already has this question (in any case)."""
    with transaction.atomic():
        faq = FAQ.objects.create(
            workspace=workspace, question=question.strip(), answer=answer, order=order, active=active
        )
        _queue_indexing(faq)
        _record(faq, actor, "created")
    return faq


def create_document(
    workspace: Workspace, *, title: str, file: File, enabled: bool = True, actor: User | None = None
) -> Document:
    """Raises ValueError for a file of an unsupported type or over the size limit."""
    content_type = check_document(file)
    assert file.name  # check_document refuses a file without a name
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
        _record(document, actor, "created", file=document.file.name.rsplit("/", 1)[-1])
    return document


# ---------------------------------------------------------------- edit


def update(item: Item, *, actor: User | None = None, **changes) -> Item:
    """Edit an item's fields; what changes its content re-indexes it."""
    model = type(item)
    unknown = set(changes) - EDITABLE[model]
    if unknown:
        raise ValueError(f"cannot edit {', '.join(sorted(unknown))} of a {model.__name__}")
    fields = dict(changes)
    enabled = fields.pop(item.enabled_field, None)
    with transaction.atomic():
        item = model.objects.select_for_update().get(pk=item.pk)
        before = indexing.fingerprint(item)
        old_file = item.file.name if isinstance(item, Document) else None
        was = {name: getattr(item, name) for name in changes if name != "file"}  # for the activity log
        if old_file and "file" in changes:
            was["file"] = old_file.rsplit("/", 1)[-1]
        for name, value in fields.items():
            if name == "channels":
                value = _channels(value)
            if name == "question":
                value = value.strip()
            if name == "file":
                assert isinstance(item, Document)  # EDITABLE: only a document has a file
                item.content_type = check_document(value)
                item.file.save(value.name.rsplit("/", 1)[-1], value, save=False)
                continue
            setattr(item, name, value)
        item.save()
        queued = indexing.fingerprint(item) != before
        if queued:
            _queue_indexing(item)
        if isinstance(item, Document) and old_file and item.file.name != old_file:
            storage = item.file.storage
            transaction.on_commit(lambda: storage.delete(old_file))
        if enabled is not None:
            item = _switch(item, enabled, index=not queued)[0]
        if changes:
            _record(item, actor, "updated", changed=changes, before=was)
    return item


def _switch(item: Item, on: bool, *, index: bool = True) -> tuple[Item, bool]:
    """Turn the item on (and re-index it) or off. Returns the item and whether it changed."""
    field = item.enabled_field
    item = type(item).objects.select_for_update().get(pk=item.pk)
    if getattr(item, field) == on:
        return item, False
    setattr(item, field, on)
    item.save(update_fields=[field, "updated_at"])
    if on and index:
        _queue_indexing(item)
    return item, True


def enable(item: Item, *, actor: User | None = None) -> Item:
    """Make the item findable again, re-indexed from its current content."""
    with transaction.atomic():
        item, changed = _switch(item, True)
        if changed:
            _record(item, actor, "enabled")
    return item


def disable(item: Item, *, actor: User | None = None) -> Item:
    """Hide the item from retrieval at once (its chunks stay, for a quick re-enable)."""
    with transaction.atomic():
        item, changed = _switch(item, False)
        if changed:
            _record(item, actor, "disabled")
    return item


def delete(item: Item, *, actor: User | None = None) -> None:
    """Delete the item and its chunks (and a document's file, once committed)."""
    with transaction.atomic():
        file_name = item.file.name if isinstance(item, Document) else None
        storage = item.file.storage if isinstance(item, Document) else None
        if type(item).objects.filter(pk=item.pk).delete()[0]:
            _record(item, actor, "deleted")
        if file_name and storage is not None:  # both, or neither: a document's
            transaction.on_commit(lambda: storage.delete(file_name))


BULK = {"enable": enable, "disable": disable, "delete": delete}


def bulk(items: Iterable[Item], operation: Literal["enable", "disable", "delete"], *, actor: User | None = None) -> int:
    """Apply one operation to several items, all or nothing; returns how many there were."""
    apply = BULK[operation]
    count = 0
    with transaction.atomic():
        for item in items:
            apply(item, actor=actor)
            count += 1
    return count


# ---------------------------------------------------------------- FAQ order


def move_faq(faq: FAQ, direction: Literal["up", "down"], *, actor: User | None = None) -> FAQ:
    """Swap the entry with its neighbour in the workspace's FAQ order, numbering the entries
    0, 1, 2, ... so that equal orders (the default) cannot make a move a no-op."""
    with transaction.atomic():
        entries = list(FAQ.objects.select_for_update().filter(workspace_id=faq.workspace_id).order_by("order", "id"))
        index = next((i for i, entry in enumerate(entries) if entry.pk == faq.pk), None)
        if index is None:
            raise FAQ.DoesNotExist(f"FAQ {faq.pk} is gone")
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(entries):
            return entries[index]
        entries[index], entries[other] = entries[other], entries[index]
        for position, entry in enumerate(entries):
            if entry.order != position:
                FAQ.objects.filter(pk=entry.pk).update(order=position)
                entry.order = position
        faq = entries[other]
        _record(faq, actor, "moved", direction=direction, order=faq.order)
    return faq
