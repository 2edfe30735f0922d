"""The drain signal inside a web worker, for code that holds connections open (streaming).

When a worker starts to drain (a reload retires it, or the server stops) it stops accepting, answers
its in-flight requests and closes idle keep-alive connections; a response that never ends by itself
(server-sent events, a websocket) must end on its own initiative. Such code waits on
:func:`wait_for_drain` (or registers a callback with :func:`on_drain`) and closes cleanly: an SSE
stream sends a last event and ends, a websocket closes with code 1012 ("service restart"); clients
then reconnect to a worker that is not draining.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("starling.serving")

_callbacks: list[Callable[[], None]] = []
_draining = False
_event: asyncio.Event | None = None


def _get_event() -> asyncio.Event:
    global _event
    if _event is None:
        _event = asyncio.Event()
        if _draining:
            _event.set()
    return _event


def is_draining() -> bool:
    return _draining


def on_drain(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` when draining starts (at once if it already has). Returns a function that unregisters."""
    if _draining:
        callback()
        return lambda: None
    _callbacks.append(callback)

    def unregister() -> None:
        if callback in _callbacks:
            _callbacks.remove(callback)

    return unregister


async def wait_for_drain() -> None:
    await _get_event().wait()


def begin_drain() -> None:
    """Called once by the worker when it stops accepting connections."""
    global _draining
    if _draining:
        return
    _draining = True
    _get_event().set()
    for callback in list(_callbacks):
        try:
            callback()
        except Exception:
            log.exception("drain callback failed")
    _callbacks.clear()


def reset() -> None:
    """For tests: forget a previous drain."""
    global _draining, _event
    _draining = False
    _event = None
    _callbacks.clear()
