"""Websocket consumers: authorize in connect, join the narrowest groups, forward pushes.

Frames from clients are small JSON objects with a "type":
  resume  {"after": <message id>}   replay everything after the client's cursor
  typing  {}                        (the inbox adds "conversation": <id>)
  ping    {}                        presence heartbeat (inbox)
  message {"body", "client_id", "page_url"}   a visitor's message (widget; the push of the
                                    saved message is the acknowledgement)
Anything else, malformed JSON, or an oversized frame closes the socket.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from channels.generic.websocket import AsyncWebsocketConsumer

from helpdesk.realtime import groups, live

logger = logging.getLogger(__name__)

MAX_FRAME = 4096
CLOSE_FORBIDDEN = 4003
CLOSE_BAD_FRAME = 4400
CLOSE_TOO_BIG = 1009
# An inbox socket lives only as long as the sign-in it was opened with (the inbox page acts on
# these two codes):
# - the browser's session ended (signed out there, or found gone on resume): the page shows
#   that, and goes to the sign-in page instead of reconnecting;
CLOSE_SIGNED_OUT = 4401
# - the agent's password or role changed: the page reconnects, and is let in again only if its
#   session still holds (the browser that changed the password), with the role as it is now.
CLOSE_REAUTHORIZE = 4012


class _Base(AsyncWebsocketConsumer):
    joined: list[str]
    max_frame = MAX_FRAME

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
        await self.close(code=event.get("code", 4001))

    def parse(self, text_data: str | None) -> dict | None:
        if text_data is None or len(text_data) > self.max_frame:
            return None
        try:
            frame = json.loads(text_data)
        except ValueError:
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return None
        return frame

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or (text_data is not None and len(text_data) > self.max_frame):
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = self.parse(text_data)
        handler = getattr(self, f"on_{frame['type']}", None) if frame else None
        if handler is None:
            await self.close(code=CLOSE_BAD_FRAME)
            return
        try:
            await handler(frame)
        except (TypeError, ValueError):
            await self.close(code=CLOSE_BAD_FRAME)


def _cursor(frame: dict) -> int:
    after = frame.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValueError("bad cursor")
    return after


class WidgetConsumer(_Base):
    """A visitor's widget: their own conversations' public messages, typing, availability."""

    @property
    def max_frame(self) -> int:
        # room for a message of WIDGET_MESSAGE_MAX_LENGTH characters, JSON-encoded
        return max(MAX_FRAME, 4 * settings.WIDGET_MESSAGE_MAX_LENGTH + 1024)

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        visitor_token = (query.get("visitor") or [""])[0]
        visitor = await database_sync_to_async(live.widget_visitor)(token, visitor_token)
        if visitor is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.visitor = visitor
        await self.join(groups.contact(visitor.contact_id), groups.widget(visitor.workspace_id))
        await self.accept()

    async def on_resume(self, frame):
        html = await database_sync_to_async(live.widget_replay)(self.visitor, _cursor(frame))
        if html:
            await self.send(text_data=html)

    async def on_typing(self, frame):
        await database_sync_to_async(live.visitor_typing)(self.visitor)

    async def on_message(self, frame):
        try:
            await database_sync_to_async(live.widget_message)(
                self.visitor, frame.get("body"), frame.get("client_id"), frame.get("page_url", "")
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
        membership = await database_sync_to_async(live.inbox_membership)(self.scope.get("user"))
        session = self.scope.get("session")
        session_key = getattr(session, "session_key", None)
        if membership is None or not session_key:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.membership = membership
        self.session_key = session_key
        # agent.<user>: closed when the password or role changes, or the member is deactivated;
        # session.<hash>: closed when this browser signs out.
        await self.join(groups.agents(membership.workspace_id), groups.agent(membership.user_id), groups.session(session_key))
        await self.accept()
        await database_sync_to_async(live.agent_seen)(membership)

    async def on_resume(self, frame):
        conversation_id = frame.get("conversation")
        if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
            raise ValueError("bad conversation")
        # The close that signing out (or a password change) broadcasts may have been lost (Redis
        # down at that moment): a replay can show any thread, private notes included, so it is
        # given only while the socket's sign-in still holds.
        if not await database_sync_to_async(live.inbox_sign_in_holds)(self.membership, self.session_key):
            await self.close(code=CLOSE_SIGNED_OUT)
            return
        html = await database_sync_to_async(live.inbox_replay)(self.membership, conversation_id, _cursor(frame))
        if html:
            await self.send(text_data=html)

    async def on_typing(self, frame):
        conversation_id = frame.get("conversation")
        if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
            raise ValueError("bad conversation")
        await database_sync_to_async(live.agent_typing)(self.membership, conversation_id)

    async def on_ping(self, frame):
        await database_sync_to_async(live.agent_seen)(self.membership)
