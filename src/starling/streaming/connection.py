"""One open stream (an SSE response or a WebSocket): its subscriptions and its bounded mailbox.

The hub offers it items without ever waiting; the connection's own task takes them out and writes them.
A client that does not read fills the mailbox: past ``limit`` items the connection is closed with a
reason instead of growing, and the client resumes from the last id it saw. So a slow client costs
only its own buffer and never holds up the hub or other clients.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from starling.streaming.audience import StreamSpec

# Close codes (WebSocket); an SSE response simply ends.
CLOSE_RESTART = 1012
CLOSE_POLICY = 1008
CLOSE_BACKLOG = 1013


class Frame:
    """One event ready to write: its log id, name, payload (a JSON string) and stream label.

    One frame object is shared by every connection that receives the event on the same stream, and
    its encodings are made once, by the first connection that writes it."""

    __slots__ = ("_sse", "_ws", "event", "event_id", "payload", "stream")

    def __init__(self, event_id: int, event: str, payload: str, stream: tuple[str, ...]) -> None:
        self.event_id = event_id
        self.event = event
        self.payload = payload
        self.stream = stream
        self._sse: bytes | None = None
        self._ws: str | None = None

    @classmethod
    def raw(cls, text: str) -> Frame:
        """A WebSocket message sent as it is (an error answer to a subscription)."""
        frame = cls(-1, "", text, ())
        frame._ws = text
        return frame

    def sse(self) -> bytes:
        if self._sse is None:
            self._sse = f"id: {self.event_id}\nevent: {self.event}\ndata: {self.payload}\n\n".encode()
        return self._sse

    def ws(self) -> str:
        if self._ws is None:
            self._ws = orjson.dumps({"stream": list(self.stream), "event": self.event, "payload": self.payload,
                                     "id": str(self.event_id)}).decode()
        return self._ws

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and (self.event_id, self.event, self.payload, self.stream) == (
            other.event_id, other.event, other.payload, other.stream)

    def __hash__(self) -> int:
        return hash((self.event_id, self.event, self.stream))


HEARTBEAT = Frame(0, "", "", ())


class Connection:
    __slots__ = (
        "account_id", "after", "close_code", "close_reason", "items", "limit", "scopes", "streams", "token_id",
        "transport", "waiter", "writer",
    )

    def __init__(self, *, account_id: int | None, token_id: int | None, scopes: frozenset[str], transport: str,
                 limit: int) -> None:
        self.account_id = account_id
        self.token_id = token_id
        self.scopes = scopes
        self.transport = transport
        self.limit = limit
        self.streams: dict[StreamSpec, None] = {}
        self.items: list[Frame] = []
        self.waiter: asyncio.Future[None] | None = None
        self.close_reason: str | None = None
        self.close_code = 1000
        # The client has seen every event up to here (it resumed from it): a hub that is behind the
        # worker the client came from must not send those again.
        self.after = 0
        # The task writing to the client, while it waits for the socket: cancelled when the backlog
        # overflows, since a client that does not read would keep it waiting for ever.
        self.writer: asyncio.Task[Any] | None = None

    @property
    def closed(self) -> bool:
        return self.close_reason is not None

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def offer(self, frame: Frame) -> None:
        if self.close_reason is not None or 0 < frame.event_id <= self.after:
            return
        if len(self.items) >= self.limit:
            self.close(f"The client is too slow: more than {self.limit} events waiting", CLOSE_BACKLOG)
            return
        self.items.append(frame)
        self._wake()

    def close(self, reason: str, code: int = 1000) -> None:
        if self.close_reason is None:
            self.close_reason = reason
            self.close_code = code
            self.items.clear()
            writer = self.writer
            if code == CLOSE_BACKLOG and writer is not None and writer is not asyncio.current_task():
                writer.cancel()
        self._wake()

    async def next(self) -> Frame | None:
        """The next frame, or None once the connection is closed."""
        while not self.items:
            if self.close_reason is not None:
                return None
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.close_reason is not None:
            return None
        return self.items.pop(0)

    def drain_ready(self) -> list[Frame]:
        """Every frame already waiting (written together in one chunk)."""
        out = self.items
        self.items = []
        return out
