"""Admission control: bounded concurrency per process, queues by priority, and fast shedding.

At most ``capacity`` requests run at once. Others wait in the queue of their priority (see
:mod:`starling.web.middleware.classify`); a freed slot goes to the oldest waiter of the most urgent
priority. A request is shed at once, with 503 and ``Retry-After``, when its queue is full or when the
expected wait (waiters ahead times the recent time a request holds a slot, over the capacity) is longer
than its priority's deadline; a waiter still queued when its deadline passes is shed then. A shed
anonymous read is answered from the stale cache when a recent copy exists.

Health and metrics endpoints bypass admission; a streaming connection holds a slot only until its
handshake is answered.

Answers made here (503, stale) close the connection. A client that ignores ``Retry-After`` and asks
again at once would otherwise turn each refusal into a new request on the same connection, thousands a
second, and the event loop would spend its time refusing while admitted requests starve; a new
connection costs the client a handshake and paces it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling import metrics
from starling.web.middleware.classify import LAST, PRIORITIES, bypasses, classify, is_streaming
from starling.web.middleware.context import request_info
from starling.web.middleware.stale_cache import StaleCache

BUSY_MESSAGE = "The server is busy, try again shortly"
_BUSY_BODY = orjson.dumps({"error": BUSY_MESSAGE})
# WebSocket close code 1013: "try again later".
_WS_TRY_AGAIN = 1013


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reason: str = ""
    waited: float = 0.0


class AdmissionController:
    """The slots and queues of one process; every method runs on the event loop's thread."""

    def __init__(
        self,
        capacity: int,
        queue_limits: tuple[int, ...] = (512, 256, 128),
        deadlines: tuple[float, ...] = (5.0, 1.0, 0.25),
        *,
        initial_service_time: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if len(queue_limits) != len(PRIORITIES) or len(deadlines) != len(PRIORITIES):
            raise ValueError("one queue limit and one deadline per priority")
        self.capacity = capacity
        self.queue_limits = tuple(queue_limits)
        self.deadlines = tuple(deadlines)
        self.service_time = initial_service_time
        self.clock = clock
        self.in_flight = 0
        self.queues: list[deque[asyncio.Future[None]]] = [deque() for _ in PRIORITIES]

    def queued(self, priority: int | None = None) -> int:
        if priority is not None:
            return len(self.queues[priority])
        return sum(len(q) for q in self.queues)

    def expected_wait(self, priority: int) -> float:
        ahead = sum(len(q) for q in self.queues[: priority + 1])
        return (ahead + 1) * self.service_time / self.capacity

    def retry_after(self) -> int:
        """Seconds a shed client should wait: about the time to drain what is queued now."""
        drain = (self.queued() + self.capacity) * self.service_time / self.capacity
        return max(1, min(30, math.ceil(drain)))

    def _gauge(self, priority: int) -> None:
        metrics.ADMISSION_QUEUED.labels(priority=str(priority)).set(len(self.queues[priority]))

    async def acquire(self, priority: int) -> Decision:
        if self.in_flight < self.capacity and self.queued() == 0:
            self.in_flight += 1
            return Decision(True)
        queue = self.queues[priority]
        if len(queue) >= self.queue_limits[priority]:
            return Decision(False, "queue_full")
        deadline = self.deadlines[priority]
        if deadline <= 0 or self.expected_wait(priority) > deadline:
            return Decision(False, "expected_wait")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        self._gauge(priority)
        start = self.clock()
        try:
            await asyncio.wait({waiter}, timeout=deadline)
        except asyncio.CancelledError:
            self._abandon(priority, waiter)
            raise
        if waiter.done() and not waiter.cancelled():
            return Decision(True, waited=self.clock() - start)
        self._abandon(priority, waiter)
        return Decision(False, "deadline", waited=self.clock() - start)

    def _abandon(self, priority: int, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            # A slot was handed over just as the waiter gave up: pass it on.
            self.release(None)
            return
        waiter.cancel()
        try:
            self.queues[priority].remove(waiter)
        except ValueError:
            pass
        self._gauge(priority)

    def release(self, service_time: float | None) -> None:
        if service_time is not None:
            self.service_time += 0.2 * (service_time - self.service_time)
        for priority, queue in enumerate(self.queues):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    self._gauge(priority)
                    return
            self._gauge(priority)
        self.in_flight -= 1


class AdmissionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        controller: AdmissionController,
        cache: StaleCache | None = None,
        enabled: bool = True,
    ) -> None:
        self.app = app
        self.controller = controller
        self.cache = cache
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] not in ("http", "websocket") or bypasses(scope["path"]):
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        priority = classify(scope)
        info.priority = priority
        decision = await self.controller.acquire(priority)
        cache_key = self._cache_key(scope, priority)
        if not decision.admitted:
            if cache_key is not None and self.cache is not None and await self.cache.serve(cache_key, send):
                info.stale = True
                metrics.STALE_SERVED.inc()
                return
            info.shed = True
            metrics.SHED.labels(priority=str(priority), reason=decision.reason).inc()
            await self._refuse(scope, send)
            return
        metrics.ADMISSION_WAIT.labels(priority=str(priority)).observe(decision.waited)
        metrics.ADMITTED_IN_FLIGHT.inc()
        started = time.monotonic()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                metrics.ADMITTED_IN_FLIGHT.dec()
                self.controller.release(time.monotonic() - started)

        streaming = scope["type"] == "websocket" or is_streaming(scope["path"])
        recorder = self.cache.recorder(cache_key) if cache_key is not None and self.cache is not None else None

        async def send_wrapper(message: Message) -> None:
            if streaming and message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                release()
            if recorder is not None:
                recorder(message)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            release()

    def _cache_key(self, scope: Scope, priority: int) -> str | None:
        if self.cache is None or not self.cache.enabled or priority != LAST or scope["type"] != "http":
            return None
        if scope["method"] != "GET":
            return None
        query = scope.get("query_string", b"").decode("latin-1")
        return f"{scope['path']}?{query}"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": _WS_TRY_AGAIN, "reason": BUSY_MESSAGE})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_BUSY_BODY)).encode()),
                    (b"retry-after", str(self.controller.retry_after()).encode()),
                    (b"cache-control", b"no-store"),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _BUSY_BODY})
