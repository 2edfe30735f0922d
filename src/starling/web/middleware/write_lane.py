"""Requests that write are handled on the write lane (``adapters/write_lane.py``).

The innermost layer: admission, rate limits, metrics and logs have seen the request on the connection's
event loop, and keep its slot while it runs. Here its body is read (on that loop, before any
transaction begins), then routing, dependencies, the handler and its answer run on the lane; the answer
is handed back to the connection's loop in one piece (the head is held until the first part of the
body, so a plain response crosses once). Requests with a body over ``STARLING_WRITE_LANE_BODY_LIMIT``
(uploads) stay on the connection's loop: they read it as it arrives, before their transaction begins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling.adapters.write_lane import WriteLane
from starling.bootstrap import Container

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def lane_of(scope: Scope) -> WriteLane | None:
    container = getattr(getattr(scope.get("app"), "state", None), "container", None)
    return container.lane if isinstance(container, Container) else None


def declared_body(scope: Scope) -> int | None:
    """The body's declared length (0 without one), or None when it is sent in chunks of unknown total."""
    length = 0
    for key, value in scope.get("headers") or ():
        if key == b"transfer-encoding":
            return None
        if key == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
    return length


async def on_loop(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on ``loop`` (another thread's) and wait for it on this one."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))


async def read_body(receive: Receive) -> list[Message]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


class LaneReceive:
    """The body read beforehand, then whatever the connection's loop receives (a disconnect)."""

    def __init__(self, messages: list[Message], receive: Receive, home: asyncio.AbstractEventLoop) -> None:
        self.messages = messages
        self.receive = receive
        self.home = home

    async def __call__(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        return await on_loop(self.home, self._receive())

    async def _receive(self) -> Message:
        return await self.receive()


class LaneSend:
    """Sends on the connection's loop; the response head waits for the first part of the body."""

    def __init__(self, send: Send, home: asyncio.AbstractEventLoop) -> None:
        self.send = send
        self.home = home
        self.held: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.held.append(message)
        if message["type"] != "http.response.start":
            await self.flush()

    async def flush(self) -> None:
        if self.held:
            batch, self.held = self.held, []
            await on_loop(self.home, self._deliver(batch))

    async def _deliver(self, batch: list[Message]) -> None:
        for message in batch:
            await self.send(message)


class WriteLaneMiddleware:
    def __init__(self, app: ASGIApp, *, body_limit: int) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = lane_of(scope) if scope["type"] == "http" and scope["method"] not in SAFE_METHODS else None
        size = declared_body(scope) if lane is not None else None
        if lane is None or size is None or size > self.body_limit:
            await self.app(scope, receive, send)
            return
        messages = await read_body(receive)
        home = asyncio.get_running_loop()
        lane_send = LaneSend(send, home)

        async def handle() -> None:
            await self.app(scope, LaneReceive(messages, receive, home), lane_send)
            await lane_send.flush()

        await lane.run(handle())
