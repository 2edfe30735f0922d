"""uvicorn's HTTP protocol, changed in two respects: how a draining worker treats keep-alive connections,
and when a request counts as arrived.

Draining: uvicorn closes every idle keep-alive connection the moment shutdown starts. A client that sends
its next request on such a connection at that moment gets "server disconnected without a response": the
request was neither refused nor answered, and a load test counts a failure for every busy connection of
every retiring worker. Here an idle connection stays open during the drain: its next request is answered
normally with ``Connection: close``, so the client opens a new connection (to a new worker) for the one
after; a connection that stays idle is closed by the usual keep-alive timeout. A connection handed in by
the accepting thread after the drain began is treated the same way.

Arrival: each request's scope carries ``ARRIVED_KEY``, the time it arrived: for the first request of a
connection accepted by the worker's accepting thread (:mod:`starling.serving.door`), the moment it was
accepted; otherwise the moment its first bytes were read. The admission layer counts a request's queueing
deadline from there, so time spent before the application saw it counts too.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from starling.serving.door import COUNTS
from starling.web.middleware.admission import ARRIVED_KEY, VETTED_KEY

_drain = {"started": False}


def begin_drain() -> None:
    """From now on, every connection of this process (even one not yet accepted) is draining."""
    _drain["started"] = True


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    _draining = False
    # Set by the accepting thread's hand-over: when the connection was accepted.
    accepted_at: float | None = None
    _from_door = False
    _reached = False
    # The door judged the first request of this connection and let it in (VETTED_KEY); later ones: no.
    _first_vetted = False

    def adopt(self, accepted_at: float, vetted: bool = False) -> None:
        """Mark a connection accepted by the door (before ``connection_made``)."""
        self.accepted_at = accepted_at
        self._from_door = True
        self._first_vetted = vetted

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if _drain["started"]:
            self.shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._count_reached()
        super().connection_lost(exc)

    def _count_reached(self) -> None:
        if self._from_door and not self._reached:
            self._reached = True
            COUNTS.reached += 1

    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            return
        if self.timeout_keep_alive_task is None and not self.transport.is_closing():
            # Accepted but no request yet: give it the keep-alive time to send one.
            loop = asyncio.get_running_loop()
            self.timeout_keep_alive_task = loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def on_message_begin(self) -> None:
        super().on_message_begin()  # makes this request's scope
        scope = cast(dict[str, Any], self.scope)
        if self.accepted_at is not None:
            scope[ARRIVED_KEY], self.accepted_at = self.accepted_at, None
            if self._first_vetted:
                scope[VETTED_KEY], self._first_vetted = True, False
        else:
            scope[ARRIVED_KEY] = time.monotonic()

    def on_headers_complete(self) -> None:
        self._count_reached()
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False
