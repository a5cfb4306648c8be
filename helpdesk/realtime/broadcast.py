"""Send HTML fragments to websocket groups, after the transaction commits.

The fragments are the same named template partials the pages render; consumers forward
them as they are. Delivery through the channel layer is best effort: clients recover
anything they missed from the database by cursor (see the consumers' `resume`).
"""

from __future__ import annotations

import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


_private_loop: asyncio.AbstractEventLoop | None = None
_outbox: asyncio.Queue | None = None


def use_private_loop() -> None:
    """For long-lived sync processes (the worker): hand sends to one event loop kept in a
    thread of its own, which sends them in order, one after another. The caller does not
    wait for Redis (a streaming answer goes on writing), and the channel layer's connections
    are reused instead of opened anew for every message, as async_to_sync would."""
    global _private_loop, _outbox
    if _private_loop is not None:
        return
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def drain() -> None:
        global _outbox
        _outbox = asyncio.Queue()
        ready.set()
        while True:
            group, event = await _outbox.get()
            try:
                await get_channel_layer().group_send(group, event)
            except Exception:
                logger.exception("broadcast to %s failed", group)

    def run() -> None:
        loop.run_until_complete(drain())

    threading.Thread(target=run, name="broadcast-loop", daemon=True).start()
    ready.wait(5)
    _private_loop = loop


def _group_send(group: str, event: dict) -> None:
    if _private_loop is not None and _outbox is not None:
        _private_loop.call_soon_threadsafe(_outbox.put_nowait, (group, event))
    else:
        async_to_sync(get_channel_layer().group_send)(group, event)


def send(group: str, html: str) -> None:
    try:
        _group_send(group, {"type": "push", "html": html})
    except Exception:  # the write already committed; clients catch up by cursor
        logger.exception("broadcast to %s failed", group)


async def asend(group: str, html: str) -> None:
    try:
        await get_channel_layer().group_send(group, {"type": "push", "html": html})
    except Exception:
        logger.exception("broadcast to %s failed", group)


def on_commit(group: str, html: str) -> None:
    transaction.on_commit(lambda: send(group, html))


def close_group(group: str, code: int = 4001) -> None:
    """Ask every socket in the group to close (e.g. after a widget token is regenerated)."""
    transaction.on_commit(lambda: _group_send(group, {"type": "close.socket", "code": code}))
