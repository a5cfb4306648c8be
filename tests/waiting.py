"""Waiting in tests: poll what the test can observe until it holds, never sleep a fixed time.

    row = wait_for(lambda: Message.objects.filter(...).first(), timeout=10, message="the AI's answer")
    text = await wait_for_async(lambda: needle in log.text() and log.text(), message="the warning")

Each returns the condition's first truthy value. At the deadline it fails the test
(AssertionError) with the message and the condition's last value. `message` may be a callable,
called only then (for a process's output, say). An exception listed in `ignoring` counts as
"not yet" (a server that still refuses connections while it starts).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Message = str | Callable[[], str]


def _failure(timeout: float, message: Message, last: object) -> AssertionError:
    text = message() if callable(message) else message
    return AssertionError(f"gave up after {timeout} s waiting for {text or 'the condition'}; last value: {last!r}")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 5.0,
    interval: float = 0.05,
    message: Message = "",
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` every `interval` seconds until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    value: object
    while True:
        try:
            value = result = condition()
        except ignoring as exc:
            value = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            raise _failure(timeout, message, value)
        time.sleep(interval)


async def wait_for_async(
    condition: Callable[[], T | Awaitable[T]],
    timeout: float = 5.0,
    interval: float = 0.05,
    message: Message = "",
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """The same inside an event loop: `condition` may be a plain or an async function, and the
    loop keeps running between looks."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value: object
    while True:
        try:
            outcome = condition()
            result: T = await outcome if inspect.isawaitable(outcome) else outcome
            value = result
        except ignoring as exc:
            value = exc
        else:
            if result:
                return result
        if loop.time() >= deadline:
            raise _failure(timeout, message, value)
        await asyncio.sleep(interval)
