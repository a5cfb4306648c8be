"""Send HTML fragments to websocket groups, after the transaction commits.

The fragments are the same named template partials the pages render; consumers forward
them as they are. Delivery through the channel layer is best effort: clients recover
anything they missed from the database by cursor (see the consumers' `resume`).
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def send(group: str, html: str) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, {"type": "push", "html": html})
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
    transaction.on_commit(
        lambda: async_to_sync(get_channel_layer().group_send)(group, {"type": "close.socket", "code": code})
    )
