"""Template filters for a message's files: `message|files`, `attachment|file_link`,
`attachment|thumbnail_link` (signed links, made for the reader the page is rendered for)."""

from __future__ import annotations

from django import template

from helpdesk.conversations import attachments
from helpdesk.conversations.models import Attachment

register = template.Library()


@register.filter
def files(message) -> list[Attachment]:
    return attachments.of_message(message)


@register.filter
def file_link(attachment: Attachment) -> str:
    return attachments.link(attachment)


@register.filter
def thumbnail_link(attachment: Attachment) -> str:
    return attachments.link(attachment, "thumbnail")
