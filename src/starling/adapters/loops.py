"""Calling back into an event loop from whichever thread a commit happens on.

A process has more than one event loop when the write lane runs (``adapters/write_lane.py``): a commit
on the lane must wake the job runner and the streaming hub, whose events belong to the main loop and
may only be touched from it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def call_on(loop: asyncio.AbstractEventLoop | None, callback: Callable[[], None]) -> None:
    """Call ``callback`` now when this thread runs ``loop`` (or no loop is known), else soon on ``loop``'s
    own thread. A closed loop has nobody left to wake: nothing happens."""
    if loop is None or loop is running_loop():
        callback()
        return
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback)
