"""Send HTML fragments to websocket groups, after the transaction commits.

The fragments are the same named template partials the pages render; consumers forward
them as they are. Delivery through the channel layer is best effort: clients recover
anything they missed from the database by cursor (see the consumers' `resume`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import logging
import threading
from collections.abc import Callable

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from helpdesk.realtime import codes

logger = logging.getLogger(__name__)


# Sends from synchronous code (views, actions in the consumers' database threads, the
# worker) are handed to an outbox: a queue drained by one task on an event loop, which sends
# them in order, one after another. The caller does not wait for Redis (a database thread
# goes on to the next visitor's message, a streaming answer goes on writing), and the
# channel layer's connections are reused instead of opened anew for every message.
# In the web server the outbox runs on the server's own event loop (the one whose database
# thread is calling), as the consumers' own sends do; elsewhere (the worker, commands) on an
# event loop in a thread of its own. The in-memory layer of single-process tests has no
# thread safety; with it, sends are delivered before the call returns.
_outboxes: dict[asyncio.AbstractEventLoop, asyncio.Queue] = {}
_own_loop: asyncio.AbstractEventLoop | None = None
_later: set[asyncio.Task] = set()
_pending = 0
_lock = threading.Lock()
_idle = threading.Condition(_lock)


async def _drain(queue: asyncio.Queue) -> None:
    counted = asyncio.get_running_loop() is _own_loop
    while True:
        layer, group, event = await queue.get()
        if layer is None:  # work handed over by `after_sends`
            task = asyncio.create_task(_run_later(event), context=contextvars.Context())
            _later.add(task)  # a reference until it is done, or it may be collected midway
            task.add_done_callback(_later.discard)
            continue
        try:
            await layer.group_send(group, event)
        except Exception:
            logger.exception("broadcast to %s failed", group)
        if counted:
            _sent_one()


async def _run_later(fn: Callable[[], object]) -> None:
    try:
        await database_sync_to_async(fn)()
    except Exception:
        logger.exception("work after the broadcasts failed: %r", fn)


def after_sends(fn: Callable[[], object]) -> None:
    """Run `fn` once the sends handed over before it have gone out. In the web server it runs
    in the database thread after the current work there: work that nobody waits for (enqueue
    an away reply) does not hold up the pushes that people are waiting for. Elsewhere (the
    worker, commands, single-process tests) it runs now."""
    loop = _server_loop()
    if loop is None or isinstance(get_channel_layer(), InMemoryChannelLayer):
        fn()
        return
    loop.call_soon_threadsafe(_put, loop, (None, None, fn))


def _sent_one() -> None:
    global _pending
    with _idle:
        _pending -= 1
        _idle.notify_all()


def _put(loop: asyncio.AbstractEventLoop, item: tuple) -> None:
    """On `loop`: queue the item, starting that loop's outbox at its first send."""
    queue = _outboxes.get(loop)
    if queue is None:
        queue = _outboxes[loop] = asyncio.Queue()
        # A context of its own: not the one of the database thread that sent first (asgiref
        # marks that one as inside the database thread, where nothing may wait for it).
        task = loop.create_task(_drain(queue), context=contextvars.Context())
        task.add_done_callback(lambda _: _outboxes.pop(loop, None))
    queue.put_nowait(item)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose sync_to_async thread this is, if any (as async_to_sync finds it)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running() and not loop.is_closed():
        return loop
    return None


def _private_loop() -> asyncio.AbstractEventLoop:
    global _own_loop
    with _lock:
        if _own_loop is None:
            _own_loop = asyncio.new_event_loop()
            threading.Thread(target=_own_loop.run_forever, name="broadcast-outbox", daemon=True).start()
            atexit.register(flush)
        return _own_loop


def flush(timeout: float = 5.0) -> bool:
    """Wait until everything handed to the outbox thread has been sent (at exit: the worker's
    last pushes). What a server's loop still had to send ends with the server."""
    with _idle:
        return _idle.wait_for(lambda: _pending == 0, timeout)


def _group_send(group: str, event: dict) -> None:
    global _pending
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.group_send)(group, event)
        return
    loop = _server_loop()
    if loop is None:
        loop = _private_loop()
        with _lock:
            _pending += 1
    loop.call_soon_threadsafe(_put, loop, (layer, group, event))


def send(group: str, html: str) -> None:
    try:
        _group_send(group, {"type": "push", "html": html})
    except Exception:  # the write already committed; clients catch up by cursor
        logger.exception("broadcast to %s failed", group)


def on_commit(group: str, html: str | Callable[[], str]) -> None:
    """Send after the transaction commits. `html` may be a function that renders it then (one
    render less before the sends that are already waiting)."""
    if callable(html):
        transaction.on_commit(lambda: send(group, html()))
    else:
        transaction.on_commit(lambda: send(group, html))


def close_group(group: str, code: int = codes.CLOSED) -> None:
    """Ask every socket in the group to close (e.g. after a widget token is regenerated)."""
    transaction.on_commit(lambda: _group_send(group, {"type": "close.socket", "code": code}))
