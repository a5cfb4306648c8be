"""Websocket consumers: authorize in connect, join the narrowest groups, forward pushes.

Frames from clients are small JSON objects with a "type":
  resume  {"after": <message id>}   replay everything after the client's cursor
  typing  {}                        (the inbox adds "conversation": <id>)
  ping    {}                        presence heartbeat (inbox)
  message {"body", "client_id", "page_url"}   a visitor's message (widget; the push of the
                                    saved message is the acknowledgement)
  seen    {"id": <message id>}      the open widget showed the visitor messages up to this one
Anything else (binary, malformed or too deeply nested JSON, an unknown type, bad fields), an
oversized frame, or frames faster than a person could cause, close the socket with a 4xxx code
of helpdesk.realtime.codes and one warning in the log.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from helpdesk.conversations.intake import TYPING_PER_SECOND
from helpdesk.lib import ratelimit
from helpdesk.realtime import codes, groups, handlers

logger = logging.getLogger(__name__)

MAX_FRAME = 4096
# Frames a socket may send: a burst of FRAME_BURST, then FRAME_RATE a second. People send a
# frame every few seconds at most (typing every 2 s, a ping every 25 s, a resume per click).
FRAME_BURST = 30
FRAME_RATE = 10.0
# An inbox socket lives only as long as the sign-in it was opened with: it joins a group of its
# session (closed with codes.SIGNED_OUT when that browser signs out) and one of its user
# (closed with codes.REAUTHORIZE when the password or role changes), and `resume` re-checks it.


class _Base(AsyncWebsocketConsumer):
    joined: list[str]
    closing = False
    typing_second = 0
    typing_count = 0
    _allowance: float  # the token bucket's (flooding), set with _frame_clock

    @property
    def max_frame(self) -> int:
        return MAX_FRAME

    async def dispatch(self, message):
        # Channels runs close_old_connections() before every event, in a hop to the shared
        # database thread: for an agent's socket, before every push, behind whatever database
        # work is queued there. Pushes never touch the database, and the handlers that do go
        # through database_sync_to_async, which closes old connections itself in the thread
        # it runs in.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def join(self, *names: str) -> None:
        self.joined = list(names)
        for name in names:
            await self.channel_layer.group_add(name, self.channel_name)

    async def disconnect(self, code):
        for name in getattr(self, "joined", []):
            await self.channel_layer.group_discard(name, self.channel_name)

    async def push(self, event):
        await self.send(text_data=event["html"])

    async def close_socket(self, event):
        await self.close(code=event.get("code", codes.CLOSED))

    def who(self) -> str:
        return ratelimit.client_ip(self.scope)

    async def refuse(self, code: int, why: str) -> None:
        """Close with `code`, saying why in one line of the log. Frames that were already on
        their way are ignored."""
        if self.closing:
            return
        self.closing = True
        logger.warning("%s closed with %s for %s: %s", self.scope.get("path", "socket"), code, self.who(), why)
        await self.close(code=code)

    def flooding(self) -> bool:
        """A token bucket of FRAME_BURST frames refilled at FRAME_RATE a second, per socket."""
        now = time.monotonic()
        last = getattr(self, "_frame_clock", None)
        allowance = FRAME_BURST if last is None else min(FRAME_BURST, self._allowance + (now - last) * FRAME_RATE)
        self._frame_clock = now
        self._allowance = allowance - 1
        return allowance < 1

    def typing_too_soon(self) -> bool:
        """Typing frames past TYPING_PER_SECOND in a second of one socket are dropped here,
        without a hop to the database thread nor a round trip to Redis (the count in `handlers`
        covers a person's other sockets)."""
        second = int(time.time())
        if second != self.typing_second:
            self.typing_second, self.typing_count = second, 0
        self.typing_count += 1
        return self.typing_count > TYPING_PER_SECOND

    def parse(self, text_data: str) -> tuple[dict | None, str]:
        try:
            frame = json.loads(text_data)
        except RecursionError:
            return None, "JSON nested too deeply"
        except ValueError:
            return None, "not JSON"
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return None, "not a frame object with a type"
        return frame, ""

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if self.flooding():
            await self.refuse(codes.TOO_MANY, "frames faster than allowed")
            return
        if text_data is None:
            await self.refuse(codes.BAD_FRAME, "a binary frame")
            return
        if len(text_data) > self.max_frame:
            await self.refuse(codes.TOO_BIG, f"a frame of {len(text_data)} characters")
            return
        frame, why = self.parse(text_data)
        if frame is None:
            await self.refuse(codes.BAD_FRAME, why)
            return
        handler = getattr(self, f"on_{frame['type']}", None)
        if handler is None:
            await self.refuse(codes.BAD_FRAME, f"an unknown frame type {frame['type'][:40]!r}")
            return
        try:
            await handler(frame)
        except (TypeError, ValueError) as e:
            await self.refuse(codes.BAD_FRAME, f"a bad {frame['type']} frame ({e})")


def _id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= handlers.MAX_ID:
        raise ValueError("bad id")
    return value


def _cursor(frame: dict) -> int:
    return _id(frame.get("after", 0))


class WidgetConsumer(_Base):
    """A visitor's widget: their own conversations' public messages, typing, availability."""

    @property
    def max_frame(self) -> int:
        # room for a message of WIDGET_MESSAGE_MAX_LENGTH characters, JSON-encoded
        return max(MAX_FRAME, 4 * settings.WIDGET_MESSAGE_MAX_LENGTH + 1024)

    async def connect(self):
        self.ip = ratelimit.client_ip(self.scope)
        query = parse_qs(self.scope.get("query_string", b"").decode("utf-8", "replace"))
        token = (query.get("token") or [""])[0]
        visitor_token = (query.get("visitor") or [""])[0]
        visitor = await database_sync_to_async(handlers.widget_visitor)(token, visitor_token, self.ip)
        if visitor == codes.TOO_MANY:
            # Accepted only to say why: a refused handshake tells the client nothing.
            await self.accept()
            await self.refuse(codes.TOO_MANY, "connects over the limit")
            return
        if isinstance(visitor, int):
            await self.close(code=visitor)
            return
        self.visitor = visitor
        await self.join(
            groups.contact(visitor.contact_id), groups.widget(visitor.workspace_id), groups.visitor(visitor.pk)
        )
        await self.accept()

    def who(self) -> str:
        visitor = getattr(self, "visitor", None)
        return f"visitor {visitor.pk} at {self.ip}" if visitor else self.ip

    async def on_resume(self, frame):
        html = await database_sync_to_async(handlers.widget_replay_limited)(self.visitor, _cursor(frame), self.ip)
        if html is None:
            await self.refuse(codes.TOO_MANY, "resumes over the limit")
        elif html:
            await self.send(text_data=html)

    async def on_typing(self, frame):
        if not self.typing_too_soon():
            await database_sync_to_async(handlers.visitor_typing)(self.visitor, self.ip)

    async def on_seen(self, frame):
        message_id = _id(frame.get("id"))
        if message_id > getattr(self, "seen_id", 0):  # only news reaches the database
            if await database_sync_to_async(handlers.visitor_seen)(self.visitor, message_id):
                self.seen_id = message_id

    async def on_message(self, frame):
        try:
            await database_sync_to_async(handlers.widget_message)(
                self.visitor, frame.get("body"), frame.get("client_id"), frame.get("page_url", ""), self.ip
            )
        except (OperationalError, InterfaceError):
            # Nothing saved, no acknowledgement: the widget posts it over HTTP, whose 503 it
            # shows with Retry. The socket stays open (no reconnect storm during an outage).
            logger.warning("database unavailable: a widget message over the socket was not saved")

    async def on_ping(self, frame):
        return None


class InboxConsumer(_Base):
    """An agent's inbox: everything of their workspace, nothing of any other."""

    async def connect(self):
        membership = await database_sync_to_async(handlers.inbox_membership)(self.scope.get("user"))
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None)
        if membership is None or not session_key:
            await self.close(code=codes.FORBIDDEN)
            return
        self.membership = membership
        self.session_key = session_key
        # agent.<user>: closed when the password or role changes, or the member is deactivated;
        # session.<hash>: closed when this browser signs out.
        await self.join(
            groups.agents(membership.workspace_id), groups.agent(membership.user_id), groups.session(session_key)
        )
        await self.accept()
        await database_sync_to_async(handlers.agent_seen)(membership)

    def who(self) -> str:
        return f"user {self.membership.user_id}" if hasattr(self, "membership") else super().who()

    async def on_resume(self, frame):
        conversation_id = _id(frame.get("conversation"))
        # The close that signing out (or a password change) broadcasts may have been lost (Redis
        # down at that moment): a replay can show any thread, private notes included, so it is
        # given only while the socket's sign-in still holds.
        if not await database_sync_to_async(handlers.inbox_sign_in_holds)(self.membership, self.session_key):
            await self.close(code=codes.SIGNED_OUT)
            return
        html = await database_sync_to_async(handlers.inbox_replay)(self.membership, conversation_id, _cursor(frame))
        if html:
            await self.send(text_data=html)

    async def on_typing(self, frame):
        conversation_id = _id(frame.get("conversation"))
        if not self.typing_too_soon():
            await database_sync_to_async(handlers.agent_typing)(self.membership, conversation_id)

    async def on_ping(self, frame):
        await database_sync_to_async(handlers.agent_seen)(self.membership)
