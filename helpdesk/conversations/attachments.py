"""Files that come with messages: checked, stored, and served only through signed links.

- What is taken: ATTACHMENT_MAX_BYTES at most, of a type in ATTACHMENT_TYPES, told by the
  file's name (never by what the sender declares). An image (PNG, JPEG, GIF, WebP) must open
  as that image (Pillow, with its decompression-bomb limit) and gets a thumbnail; anything
  else is a file card.
- Where: the default storage (MEDIA_ROOT, or S3-compatible storage with STORAGE=s3), under a
  random key per file; never served from that path.
- How it is served: `/files/<signed id>/<name>`, a link made for each reader when the message
  is rendered for them (the widget of the conversation's contact, its workspace's agents),
  valid for ATTACHMENT_LINK_MAX_AGE_HOURS. Images are shown inline; everything else, SVG and
  HTML included, is a download (`Content-Disposition: attachment`, `nosniff`, a sandboxing
  Content-Security-Policy), so no file can run in the product's origin.
"""

from __future__ import annotations

import io
import mimetypes
import os
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from helpdesk.conversations.models import Attachment

SALT = "helpdesk.attachment"
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
THUMBNAIL_SIZE = (480, 480)
Image.MAX_IMAGE_PIXELS = 40_000_000  # larger is refused (Pillow's guard against decompression bombs)


class Refused(ValueError):
    """The file is not taken; the message says why, for the person who sent it."""


@dataclass
class Incoming:
    name: str
    data: bytes


def clean_name(raw: str) -> str:
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "file"
    if len(name) > 150:
        stem, ext = os.path.splitext(name)
        name = stem[: 150 - len(ext)] + ext
    return name


def type_of(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return (guessed or "application/octet-stream").lower()


def check(name: str, size: int) -> str:
    """The file's type if a file of this name and size may be taken; Refused otherwise."""
    if size <= 0:
        raise Refused(f"“{name}” is empty.")
    limit = settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise Refused(f"“{name}” is too large (the limit is {limit // (1024 * 1024)} MB).")
    kind = type_of(name)
    if kind not in settings.ATTACHMENT_TYPES:
        raise Refused(f"Files like “{name}” cannot be sent here.")
    return kind


def _thumbnail(kind: str, data: bytes) -> tuple[bytes, int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != IMAGE_FORMATS[kind]:
                raise Refused("That image is not what its name says.")
            width, height = image.size
            image.seek(0)
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(out, "PNG", optimize=True)
            return out.getvalue(), width, height
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as e:
        raise Refused("That image could not be read.") from e


def store(workspace_id: int, incoming: Incoming) -> Attachment:
    """Check and store one file (not yet on a message). Raises Refused."""
    name = clean_name(incoming.name)
    kind = check(name, len(incoming.data))
    attachment = Attachment(workspace_id=workspace_id, name=name, content_type=kind, size=len(incoming.data))
    if kind in IMAGE_FORMATS:
        thumb, attachment.width, attachment.height = _thumbnail(kind, incoming.data)
        attachment.thumbnail.save("t", ContentFile(thumb), save=False)
    attachment.file.save("f", ContentFile(incoming.data), save=False)
    attachment.save()
    return attachment


def link(attachment: Attachment, variant: str = "file") -> str:
    token = signing.dumps([attachment.pk, variant[0]], salt=SALT, compress=True)
    return reverse("widget:attachment", args=[token, attachment.name])


def read_link(token: str) -> tuple[int, str] | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.ATTACHMENT_LINK_MAX_AGE_HOURS * 3600)
    except signing.BadSignature:
        return None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and data[1] in ("f", "t")):
        return None
    return data[0], data[1]


def of_message(message) -> list[Attachment]:
    """A message's files, without a query when it has none."""
    if not message.attachment_count:
        return []
    known = getattr(message, "files_known", None)  # set by actions (a new message) and prefetch
    if known is not None:
        return list(known)
    return list(message.attachments.order_by("id"))


def store_all(workspace_id: int, incoming: list[Incoming]) -> list[Attachment]:
    """Store every file, or none (Refused names the first that is not taken)."""
    stored: list[Attachment] = []
    try:
        for item in incoming:
            stored.append(store(workspace_id, item))
    except Refused:
        delete(stored)
        raise
    return stored


def delete(files: list[Attachment]) -> None:
    for attachment in files:
        attachment.file.delete(save=False)
        if attachment.thumbnail:
            attachment.thumbnail.delete(save=False)
        if attachment.pk:
            attachment.delete()


def discard_unused(files: list[Attachment]) -> None:
    """Files stored for a message that was not saved (a retry of one saved already)."""
    unused = Attachment.objects.filter(pk__in=[f.pk for f in files], message__isnull=True)
    delete(list(unused))


def prefetch(messages: list) -> list:
    """The files of those of `messages` that have some, in one query (none when none has)."""
    with_files = [m for m in messages if m.attachment_count]
    if with_files:
        by_message: dict[int, list[Attachment]] = {}
        for attachment in Attachment.objects.filter(message__in=with_files).order_by("id"):
            by_message.setdefault(attachment.message_id or 0, []).append(attachment)
        for m in with_files:
            m.files_known = by_message.get(m.pk, [])
    return messages
