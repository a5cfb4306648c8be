"""Limits inside daphne's own request handling (Twisted), where a body can still be refused unread.

daphne (on `twisted.web.http`) reads a request's whole body before the ASGI application sees
any of it, then hands it over as one queue of chunks: an ASGI middleware alone comes too late
to save the memory. `install()` makes daphne build its requests from `LimitedRequest`, which
- refuses a body whose Content-Length is over its route's limit (helpdesk.lib.bodylimit) as
  soon as the headers are in: 413, and the connection is closed without reading the body;
- counts a chunked body (no Content-Length) as it arrives, and refuses it the same way the
  moment it is over;
- caps the size of a websocket message and frame in autobahn (WEBSOCKET_MESSAGE_MAX_BYTES),
  before daphne hands the upgrade over, so that no oversized message is ever buffered.

helpdesk/asgi.py calls `install()`: daphne imports the application before it serves, so every
way the project starts daphne (the Procfile's `daphne`, `manage.py run`, the tests' `Stack`)
runs with these limits.
"""

from __future__ import annotations

import logging
from typing import IO
from urllib.parse import unquote, urlsplit

from daphne import http_protocol
from django.conf import settings

from helpdesk.lib import bodylimit

logger = logging.getLogger(__name__)

# After a refusal the server half-closes (the client reads the 413, then the end of the
# stream) and drops, unparsed, whatever the client was still sending, so that a browser that
# is still uploading sees the answer instead of a reset connection. Past this, it is cut off.
LINGER_SECONDS = 5


def _drop(data: bytes) -> None:
    return None


def cap_websocket_messages(factory) -> None:
    """Lower the websocket factory's message and frame limits to WEBSOCKET_MESSAGE_MAX_BYTES
    (a smaller limit given on daphne's command line stays; 0 means "no limit" to autobahn).
    autobahn checks a frame's length when its header arrives, so an oversized message is
    refused before its payload is read. It then closes the socket with 1009 and a reason
    (instead of dropping the connection unexplained), giving the client a second to answer."""
    cap = settings.WEBSOCKET_MESSAGE_MAX_BYTES
    if 0 < factory.maxMessagePayloadSize <= cap and 0 < factory.maxFramePayloadSize <= cap and not factory.failByDrop:
        return
    factory.setProtocolOptions(
        maxMessagePayloadSize=min(factory.maxMessagePayloadSize or cap, cap),
        maxFramePayloadSize=min(factory.maxFramePayloadSize or cap, cap),
        failByDrop=False,
    )


class LimitedRequest(http_protocol.WebRequest):
    """daphne's request, with the body limits applied while the body arrives."""

    _received = 0
    _refused = False
    content: IO[bytes] | None  # twisted.web.http.Request's buffer of the body (daphne is untyped)

    def _path(self) -> str | None:
        # The request line's target, as the channel parsed it: the request itself learns its
        # path only once the whole body is in (requestReceived).
        target = getattr(self.channel, "_path", None)
        if not isinstance(target, bytes):
            return None
        try:
            return unquote(urlsplit(target).path.decode("ascii"))
        except UnicodeDecodeError:
            return None  # daphne answers 400 to such a path

    def gotLength(self, length):
        """The headers are in; `length` is the Content-Length, or None for a chunked body."""
        if length is not None:
            path = self._path()
            limit = bodylimit.over_limit(path, length)
            if limit is not None:
                self._refuse(path, limit)
                return
        super().gotLength(length)

    def handleContentChunk(self, data):
        if self._refused:
            return
        self._received += len(data)
        if self._received > settings.REQUEST_BODY_MAX_BYTES:
            path = self._path()
            limit = bodylimit.over_limit(path, self._received)
            if limit is not None:
                self._refuse(path, limit)
                return
        super().handleContentChunk(data)

    def requestReceived(self, command, path, version):
        if self._refused:
            return  # answered already; this request never reaches the application
        super().requestReceived(command, path, version)

    def process(self):
        # A websocket upgrade is handed to the server's websocket factory in here.
        cap_websocket_messages(self.server.ws_factory)
        return super().process()

    def _refuse(self, path: str | None, limit: int) -> None:
        self._refused = True
        if self.content is not None:
            self.content.close()
        self.content = None
        # Twisted answers "Expect: 100-continue" right after the headers: not to this one.
        self.requestHeaders.removeHeader(b"Expect")
        channel = self.channel
        transport = channel.transport
        content_type, body = bodylimit.refusal(path, limit)
        transport.write(
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: " + content_type + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        logger.warning("refused a request body over %s bytes for %s", limit, path)
        # Nothing more from this client is parsed, as Twisted does after a request that
        # closes its connection.
        channel.persistent = False
        channel.dataReceived = _drop
        try:
            transport.loseWriteConnection()
        except (AttributeError, NotImplementedError):
            transport.loseConnection()
        channel.callLater(LINGER_SECONDS, transport.abortConnection)


def install() -> None:
    """Make daphne build its HTTP requests from `LimitedRequest` (its HTTPFactory looks the
    request class up in daphne.http_protocol each time it builds a connection)."""
    http_protocol.WebRequest = LimitedRequest


def installed() -> bool:
    return http_protocol.WebRequest is LimitedRequest
