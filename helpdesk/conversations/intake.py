"""What visitors send through the widget, over HTTP or over its websocket, on one path: checked,
cleaned and counted here, then saved through `actions`.

- `post_visitor_message`: a visitor's message. NUL characters (which PostgreSQL text refuses)
  are stripped, not refused (`clean_text`): the visitor's words are saved. A refusal carries
  the HTTP status and the text the widget shows.
- the widget's other traffic is counted too: `live_refusal` (socket connects, resume frames,
  thread polls), `typing_allowed` (typing frames, visitor's or agent's), `feedback_refusal`.
- `clean_page_url`, `clean_traits`: the rest of what a visitor's browser reports about them.

Every limit fails open (see helpdesk.lib.ratelimit): an outage of Redis must not lose messages.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import NamedTuple

from django.conf import settings

from helpdesk.conversations import actions, attachments
from helpdesk.conversations.models import Message, Visitor
from helpdesk.lib import ratelimit

NUL = "\x00"
PAGE_URL_MAX_LENGTH = 2000
TRAITS_MAX_BYTES = 4096
TRAITS_MAX_DEPTH = 4  # {"a": {"b": {"c": {"d": 1}}}}: the traits object itself is depth 1
# Typing indicators pushed a second, at most, per visitor (or per agent and conversation). The
# widget and the inbox send one when typing starts and every 2 s after, and one more each time
# the next message is begun right after a send: someone who sends two short messages within a
# second sends three. A dropped frame is an indicator that never shows (the next comes 2 s
# later), so the limit leaves room for that and stops only floods.
TYPING_PER_SECOND = 4


class Refusal(NamedTuple):
    status: int  # the HTTP status
    code: str  # stable, for callers that tell refusals apart
    error: str  # the text to show


TOO_FAST = Refusal(429, "rate_limited", "You're sending messages too quickly. Please wait a minute.")
TOO_MANY = Refusal(429, "rate_limited", "Too many requests. Please wait a minute and try again.")


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """`value` as PostgreSQL can store it: without NUL characters, and with any lone surrogate
    (which JSON can carry and UTF-8 cannot) replaced by U+FFFD."""
    if NUL in value:
        value = value.replace(NUL, "")
    if not value.isascii():
        value = _SURROGATE.sub("\ufffd", value)
    return value


def clean_page_url(raw: str | None) -> str:
    """The page the visitor is on, if it is an http(s) URL of sane length; otherwise ""."""
    raw = clean_text(raw or "").strip()
    return raw if raw.startswith(("http://", "https://")) and len(raw) <= PAGE_URL_MAX_LENGTH else ""


def post_visitor_message(
    visitor: Visitor, body: str, *, client_id: str | None, page_url: str, ip: str
) -> Message | Refusal:
    """Save a visitor's message (idempotent on `client_id`), or say why not. The rate limits,
    per visitor and per address, are one round trip to Redis."""
    body = clean_text(body).strip()
    if not body:
        return Refusal(400, "empty", "Type a message first.")
    limit = settings.WIDGET_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        return Refusal(413, "too_long", f"That message is too long (the limit is {limit} characters).")
    if client_id:
        try:
            client_id = str(uuid.UUID(client_id))
        except ValueError:
            return Refusal(400, "bad_client_id", "Bad message id.")
    if ratelimit.over(
        ("widget-visitor", str(visitor.pk), settings.WIDGET_RATE_LIMIT_PER_VISITOR),
        ("widget-ip", ip, settings.WIDGET_RATE_LIMIT_PER_IP),
    ):
        return TOO_FAST
    return actions.post_customer_message(visitor, body, client_id=client_id or None, page_url=clean_page_url(page_url))


def post_visitor_files(
    visitor: Visitor, body: str, uploads: list[attachments.Incoming], *, client_id: str | None, page_url: str, ip: str
) -> Message | Refusal:
    """A visitor's message with files (its text may be empty): checked and counted like a
    message, then each file checked and stored; none is kept if one is refused."""
    body = clean_text(body).strip()
    if not uploads:
        return Refusal(400, "no_files", "Choose a file first.")
    if len(uploads) > settings.ATTACHMENT_MAX_FILES:
        return Refusal(400, "too_many_files", f"Send at most {settings.ATTACHMENT_MAX_FILES} files at once.")
    limit = settings.WIDGET_MESSAGE_MAX_LENGTH
    if len(body) > limit:
        return Refusal(413, "too_long", f"That message is too long (the limit is {limit} characters).")
    try:
        client_id = str(uuid.UUID(client_id or ""))
    except ValueError:
        return Refusal(400, "bad_client_id", "Bad message id.")
    if ratelimit.over(
        ("widget-visitor", str(visitor.pk), settings.WIDGET_RATE_LIMIT_PER_VISITOR),
        ("widget-ip", ip, settings.WIDGET_RATE_LIMIT_PER_IP),
    ):
        return TOO_FAST
    try:
        files = attachments.store_all(visitor.workspace_id, uploads)
    except attachments.Refused as e:
        return Refusal(400, "file_refused", str(e))
    message = actions.post_customer_message(
        visitor, body, client_id=client_id, page_url=clean_page_url(page_url), files=files
    )
    attachments.discard_unused(files)  # a retry of a message saved already: its files are the first's
    return message


def live_refusal(*, ip: str | None = None, visitor_id: int | None = None) -> Refusal | None:
    """Count one of the widget's live requests (a socket connect, a resume frame, a thread
    poll) for the address and/or the visitor given: a refusal once either is over its limit."""
    counters = []
    if visitor_id is not None:
        counters.append(("widget-live", str(visitor_id), settings.WIDGET_LIVE_LIMIT_PER_VISITOR))
    if ip is not None:
        counters.append(("widget-live-ip", ip, settings.WIDGET_LIVE_LIMIT_PER_IP))
    return TOO_MANY if counters and ratelimit.over(*counters) else None


def feedback_refusal(visitor_id: int, ip: str) -> Refusal | None:
    """A rating of an AI answer counts as a write: per visitor as many as messages, per
    address in the widget's requests."""
    if ratelimit.over(
        ("widget-feedback", str(visitor_id), settings.WIDGET_RATE_LIMIT_PER_VISITOR),
        ("widget-ip", ip, settings.WIDGET_RATE_LIMIT_PER_IP),
    ):
        return TOO_MANY
    return None


def typing_allowed(who: str, ip: str | None = None) -> bool:
    """Whether a typing frame from `who` may be pushed: TYPING_PER_SECOND of theirs a second,
    and (for a visitor's) counted among their address's live requests."""
    if ratelimit.over(("typing", who, TYPING_PER_SECOND), window=1):
        return False
    return ip is None or live_refusal(ip=ip) is None


class TooDeep(ValueError):
    """A structure nested deeper than allowed."""


def clean_traits(traits: dict) -> dict:
    """The traits a host page reports, with NUL stripped from keys and strings. Raises TooDeep
    past TRAITS_MAX_DEPTH levels, and ValueError over TRAITS_MAX_BYTES (as JSON)."""

    def clean(value, depth: int):
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, (dict, list)):
            if depth > TRAITS_MAX_DEPTH:
                raise TooDeep(f"traits may nest at most {TRAITS_MAX_DEPTH} levels deep.")
            if isinstance(value, dict):
                return {clean_text(str(k)): clean(v, depth + 1) for k, v in value.items()}
            return [clean(v, depth + 1) for v in value]
        return value

    cleaned = clean(traits, 1)
    if len(json.dumps(cleaned)) > TRAITS_MAX_BYTES:
        raise ValueError(f"traits must be a JSON object of at most {TRAITS_MAX_BYTES // 1024} KB.")
    return cleaned
