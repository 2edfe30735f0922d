"""uvicorn's WebSocket protocol (websockets' sans-I/O implementation), keeping less per open connection.

A streaming WebSocket stays open for hours, idle most of the time, and uvicorn's protocol keeps what it
needed for the opening handshake for all that time. Here, with the same framing and the same behaviour:

- the handshake's ``Request`` (its headers) and ``Response`` are let go once the response is sent (the
  request's headers are emptied: websockets' parser keeps the request object itself until the end);
- the incoming-message queue and the "writable" flag are small ``__slots__`` objects (a list and at
  most a future per waiter) instead of an ``asyncio.Queue`` (three deques and an ``asyncio.Event``) and
  an ``asyncio.Event``.

The worker passes this class to uvicorn as ``ws=`` (:mod:`starling.serving.worker`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

T = TypeVar("T")


class _Waiters:
    """The futures of whoever waits on an object; no list at all while nobody waits (most of the time)."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    def _new_waiter(self) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        return waiter

    def _drop_waiter(self, waiter: asyncio.Future[None]) -> None:
        if self._waiters is not None:
            self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None


class Mailbox(_Waiters, Generic[T]):
    """What the protocol uses of ``asyncio.Queue``: ``put_nowait``, ``get`` and ``empty``."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[T] = []

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._wake_one()

    def _wake_one(self) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> T:
        while not self._items:
            waiter = self._new_waiter()
            try:
                await waiter
            except asyncio.CancelledError:
                # Woken but cancelled before it could take the item: let another getter have it.
                if waiter.done() and not waiter.cancelled() and self._items:
                    self._wake_one()
                raise
            finally:
                self._drop_waiter(waiter)
        return self._items.pop(0)


class Flag(_Waiters):
    """What the protocol uses of ``asyncio.Event``: ``set``, ``clear``, ``is_set`` and ``wait``."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        super().__init__()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = self._new_waiter()
        try:
            await waiter
            return True
        finally:
            self._drop_waiter(waiter)


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Mailbox()  # type: ignore[assignment]
        self.writable = Flag()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The scope has its own copy of the headers; websockets' parser keeps the request object for the
        # connection's lifetime, so empty it rather than only dropping our reference.
        event.headers.clear()
        self.request = None  # type: ignore[assignment]
        if self.handshake_complete:  # refused by websockets itself: the response has been sent
            self.response = None  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # The handshake response has been sent (accepted, or refused by the application).
            self.response = None  # type: ignore[assignment]
