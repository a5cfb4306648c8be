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


def use_private_loop() -> None:
    """For long-lived sync processes (the worker): send through one event loop kept in a
    thread of its own, so that the channel layer's Redis connections are reused instead of
    opened anew for every message (async_to_sync would start a new loop each time)."""
    global _private_loop
    if _private_loop is None:
        _private_loop = asyncio.new_event_loop()
        threading.Thread(target=_private_loop.run_forever, name="broadcast-loop", daemon=True).start()


def _group_send(group: str, event: dict) -> None:
    layer = get_channel_layer()
    if _private_loop is not None:
        asyncio.run_coroutine_threadsafe(layer.group_send(group, event), _private_loop).result(timeout=10)
    else:
        async_to_sync(layer.group_send)(group, event)


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
