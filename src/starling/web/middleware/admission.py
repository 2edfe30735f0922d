"""Admission control: bounded concurrency per process, queues by priority, and fast shedding.

At most ``capacity`` requests run at once. Others wait in the queue of their priority (see
:mod:`starling.web.middleware.classify`); a freed slot goes to the oldest waiter of the most urgent
priority. A request is shed at once, with 503 and ``Retry-After``, when its queue is full, when it arrived longer
than its priority's deadline ago ("late"), or (priorities 1 and 2) when the expected wait (waiters ahead
times the recent time a request holds a slot, over the capacity) is longer than what is left of its
deadline. Once queued, a request is served: the decision to refuse is made when it arrives, so that every
refusal is fast; only a waiter still queued at ``PATIENCE`` times its deadline (an estimate gone badly
wrong) is shed then. A request the accepting thread already checked ("vetted", ``VETTED_KEY``) is not
judged again on arrival here: it is queued even if its queue filled up meanwhile. A shed anonymous read is answered from
the stale cache when a recent copy exists; one request at a time renews a copy that is getting old
(``StaleCache.claim_refresh``), served at once. While the process is overloaded (refusing many requests a
second), reads may hold only part of the slots (``OVERLOAD_READ_SHARE``), so that those admitted stay fast
and posts always find one.

Time counts from the moment the request arrived, not from the moment it reached this layer: the worker's
HTTP protocol stamps each request (``ARRIVED_KEY`` in the scope; for the first request of a connection,
the time the connection was accepted), so a request that already spent its budget waiting for a busy
event loop is not queued on top of that. The worker's accepting thread (:mod:`starling.serving.door`)
asks :meth:`AdmissionController.door_verdict` before the request ever reaches the event loop, and refuses
there what this layer would refuse anyway, in microseconds, even while the event loop is busy.

Health and metrics endpoints bypass admission; a streaming connection holds a slot only until its
handshake is answered, any other request until the last part of its answer is sent.

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
from starling.web.middleware.stale_cache import StaleCache, client_of

BUSY_MESSAGE = "The server is busy, try again shortly"
# Scope key: time.monotonic() when the request arrived (set by the worker's HTTP protocol).
ARRIVED_KEY = "starling.arrived"
# Scope key: True when the worker's accepting thread already judged this request and let it in.
VETTED_KEY = "starling.vetted"
# A queued request is shed only when it is still waiting at this multiple of its deadline (from arrival),
# and only while the process is refusing requests (overloaded): see AdmissionController.calm.
PATIENCE = 2.0
# The process counts as overloaded for this long after it last refused a request.
CALM_AFTER = 2.0
# While calm, a queued request still gives up at this multiple of its deadline (from the time it queued).
CALM_LIMIT = 4.0
# While the process is overloaded, reads (priorities 1 and 2) may hold at most this share of the slots;
# writes, signing in and streaming handshakes may hold them all. See AdmissionController.slots_for.
OVERLOAD_READ_SHARE = 0.5
# The process counts as overloaded while it answers at least this many requests a second with 503 or a stale
# copy. A few such answers are no overload: a reload's fresh workers serve a stale copy or two while their
# first answers are slow (drill 1), and cutting the reads' slots then refused reads that a moment later
# would have been served.
OVERLOAD_REFUSALS = 20.0
# Requests a process completes before it refuses on estimates (its timings are those of a cold start).
WARM_UP = 32
# The door refuses a request of priority 1 or 2 when its expected wait passes this share of its deadline.
DOOR_MARGIN = 0.3
# Seconds over which arrivals are counted for the arrival rates.
RATE_WINDOW = 1.0
_BUSY_BODY = orjson.dumps({"error": BUSY_MESSAGE})
# WebSocket close code 1013: "try again later".
_WS_TRY_AGAIN = 1013


class WindowCounts:
    """Events per second of each of ``kinds``, counted in windows of ``RATE_WINDOW``: when a window ends
    (at the first event after it), its counts become the rates; a window followed by a whole window with
    nothing in it counts as zero."""

    def __init__(self, kinds: int, now: float) -> None:
        self.rates = [0.0] * kinds
        self.counts = [0] * kinds
        self.since = now

    def add(self, now: float, kind: int = 0) -> None:
        elapsed = now - self.since
        if elapsed >= RATE_WINDOW:
            self.rates = [n / elapsed if elapsed < 2 * RATE_WINDOW else 0.0 for n in self.counts]
            self.counts = [0] * len(self.counts)
            self.since = now
        self.counts[kind] += 1

    def at_least(self, now: float, per_second: float, kind: int = 0) -> bool:
        """At least ``per_second`` in the current window so far, or in the last one if it ended less than a
        window ago. A window that has run longer (no event came to close it) counts over all of its
        length, so the rate falls within about a window of the events stopping."""
        elapsed = now - self.since
        if elapsed <= RATE_WINDOW:
            return self.counts[kind] >= per_second * RATE_WINDOW or self.rates[kind] >= per_second
        return self.counts[kind] / elapsed >= per_second


@dataclass(frozen=True)
class Decision:
    admitted: bool
    reason: str = ""
    waited: float = 0.0


def stale_key(method: str, path: str, query: str, priority: int) -> str | None:
    """The stale-cache key of a request, or None when its answer may not be shared (see stale_cache.py)."""
    if priority != LAST or method != "GET":
        return None
    return f"{path}?{query}"


class AdmissionController:
    """The slots and queues of one process.

    Every method runs on the event loop's thread except :meth:`door_verdict` and :meth:`retry_after`,
    which the accepting thread calls: they only read counters (one consistent-enough snapshot under the
    GIL; a verdict a moment out of date costs one request a slightly wrong answer, never a slot).
    """

    def __init__(
        self,
        capacity: int,
        queue_limits: tuple[int, ...] = (512, 8, 8),
        deadlines: tuple[float, ...] = (5.0, 1.0, 0.25),
        *,
        initial_service_time: float = 0.05,
        warm_up: int = WARM_UP,
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
        # Of those, reads (priority 1 or 2): see slots_for().
        self.reads_in_flight = 0
        self.queues: list[deque[asyncio.Future[None]]] = [deque() for _ in PRIORITIES]
        # Set by AdmissionMiddleware, so that the accepting thread can answer from it too.
        self.stale_cache: StaleCache | None = None
        # The longest time requests recently took from arriving to reaching this layer, and when that was
        # last measured: the part of a new request's wait that the queues do not show.
        self.entry_delay = 0.0
        self.entry_seen_at = 0.0
        # Arrivals per second by priority over the last window: more urgent arrivals overtake a waiter.
        self._arrivals = WindowCounts(len(PRIORITIES), clock())
        # When this process last refused a request (here or at the door): see calm().
        self.last_refusal = -math.inf
        # Answers of 503 or a stale copy per second: see overloaded().
        self._refusals = WindowCounts(1, clock())
        # Requests completed so far: until ``warm_up`` of them, nothing is refused on an estimate.
        self.completed = 0
        self.warm_up = warm_up

    def queued(self, priority: int | None = None) -> int:
        if priority is not None:
            return len(self.queues[priority])
        return sum(len(q) for q in self.queues)

    @property
    def arrival_rates(self) -> list[float]:
        return self._arrivals.rates

    def drain_rate(self, priority: int) -> float:
        """Requests per second that leave the queue of ``priority``: what the slots complete, less what more
        urgent requests arriving meanwhile take (they overtake it), never below a tenth of it."""
        total = self.slots_for(priority) / max(self.service_time, 1e-6)
        urgent = sum(self.arrival_rates[:priority])
        return max(total - urgent, 0.1 * total)

    def expected_wait(self, priority: int) -> float:
        ahead = sum(len(q) for q in self.queues[: priority + 1])
        return (ahead + 1) / self.drain_rate(priority)

    def door_wait(self, priority: int, pending: int) -> float:
        """Expected wait of a request of ``priority`` arriving now behind ``pending`` requests that are
        already in the process but not yet at this layer (their priority unknown: counted as ahead)."""
        waiting = self.waiting_ahead(priority, pending)
        if waiting <= 0:
            return 0.0
        return waiting / self.drain_rate(priority)

    def waiting_ahead(self, priority: int, pending: int = 0) -> int:
        """How many requests would wait for a slot ahead of (and including) one of ``priority`` arriving now."""
        ahead = sum(len(q) for q in self.queues[: priority + 1]) + pending
        return ahead - self.free_for(priority) + 1

    def slots_for(self, priority: int) -> int:
        """How many slots requests of ``priority`` may hold at once.

        All of them, except for reads while the process is overloaded (:meth:`overloaded`): then reads get
        ``OVERLOAD_READ_SHARE`` of them. A process's requests share its CPU, so each admitted read is
        slower the more run beside it; under overload that made admitted reads, and the posts beside them,
        take seconds (the overload drill on PostgreSQL: docs/RELIABILITY.md). Fewer reads at once keep
        those admitted fast, the rest are refused at once (or answered from a stale copy), and the other
        slots stay free for posts. A process that is not overloaded, if only slow for a moment, keeps every
        slot for whoever comes, so that a steady load is never refused."""
        if priority == PRIORITIES[0] or not self.overloaded():
            return self.capacity
        return max(1, int(self.capacity * OVERLOAD_READ_SHARE))

    def free_for(self, priority: int) -> int:
        """Slots a request of ``priority`` could take now (a read also needs room in the reads' share)."""
        free = self.capacity - self.in_flight
        if priority != PRIORITIES[0]:
            free = min(free, self.slots_for(priority) - self.reads_in_flight)
        return max(0, free)

    def short_queue(self, priority: int, pending: int = 0) -> bool:
        """At most one round of the slots waits ahead: the wait is about one request's time, whatever the
        estimate says. Nothing is refused on an estimate then: with a few clients and a slow moment (a
        reload starting new workers, say) the estimate swells while the queue stays short, and refusing
        would fail requests that a moment's wait serves. Not while the process is overloaded: its timings
        are then those of the overload itself, and one round of the slots ahead already costs a read most
        of its time (under overload admitted reads waited up to their patience behind it)."""
        return not self.overloaded() and self.waiting_ahead(priority, pending) <= self.slots_for(priority)

    def note_entry(self, delay: float) -> None:
        """A request reached this layer ``delay`` seconds after it arrived."""
        self.entry_delay = max(delay, self.current_entry_delay())
        self.entry_seen_at = self.clock()

    def current_entry_delay(self) -> float:
        """The longest recent entry delay, less the time since it was measured.

        A peak rather than an average, so the door errs on the side of refusing at once (cheap for the
        client) over letting in a request that will be refused later (after a wait). It shrinks by the
        time passed since it was seen: a delay nobody has measured for a while is assumed to have passed,
        otherwise a door refusing everything would never learn that the event loop has caught up.
        """
        return max(0.0, self.entry_delay - (self.clock() - self.entry_seen_at))

    def refused(self) -> None:
        """The process answered a request with 503 or a stale copy (called by whoever answers: the middleware
        or the door). A verdict that still lets the request in (it renews a stale copy, or it is a write) is
        no refusal: counting it would end the calm of a process that refused nobody."""
        self.last_refusal = self.clock()
        self._refusals.add(self.last_refusal)

    def overloaded(self) -> bool:
        """The process answers at least ``OVERLOAD_REFUSALS`` requests a second with 503 or a stale copy
        (:meth:`WindowCounts.at_least`): the overload ends within about a second of the refusals stopping."""
        return self._refusals.at_least(self.clock(), OVERLOAD_REFUSALS)

    def calm(self) -> bool:
        """No request was refused lately: the process is not overloaded, only slow for a moment (new workers
        starting, caches filling). A queued request is then not given up on at its patience: refusing it
        would fail a request that the next free slot serves, and nobody else would gain from it."""
        return self.clock() - self.last_refusal > CALM_AFTER

    def door_verdict(self, priority: int, pending: int) -> str:
        """Why a request of ``priority`` arriving now would be shed ("" when it should come in)."""
        return self._door_reason(priority, pending)

    @property
    def warm(self) -> bool:
        """Enough requests completed for the timings to mean something. A new worker's first requests are
        slow (connections to open, statements and templates to compile) and they all arrive at once (a
        reload moves every client to it): an estimate made of them would refuse a load the worker serves
        a second later. Until then only a full queue refuses."""
        return self.completed >= self.warm_up

    def _door_reason(self, priority: int, pending: int) -> str:
        if len(self.queues[priority]) >= self.queue_limits[priority]:
            return "queue_full"
        if not self.warm:
            return ""
        deadline = self.deadlines[priority]
        if deadline <= 0 and self.free_for(priority) <= 0:
            return "expected_wait"
        # Refuse at the door already at a fraction of the deadline: what is let in still has to get through
        # the event loop and a queue that varies, and refusing it later costs the client that wait.
        limit = deadline if priority == PRIORITIES[0] else deadline * DOOR_MARGIN
        wait = self.door_wait(priority, pending)
        # With a slot free for it, it comes in however busy the event loop is (as inside: a free slot is
        # always used); refusing would not make the loop any faster. Nor is it refused behind a short queue.
        if wait > 0 and not self.short_queue(priority, pending) and self.current_entry_delay() + wait > limit:
            return "expected_wait"
        return ""

    def describe(self, priority: int) -> str:
        """The state a decision about ``priority`` was made in, for the log of a refused request."""
        queued = "/".join(str(len(q)) for q in self.queues)
        return (f"in_flight={self.in_flight}/{self.capacity} reads={self.reads_in_flight}/{self.slots_for(LAST)} "
                f"queued={queued} "
                f"service={self.service_time * 1000:.0f}ms drain={self.drain_rate(priority):.1f}/s "
                f"entry={self.current_entry_delay() * 1000:.0f}ms completed={self.completed} "
                f"calm={'yes' if self.calm() else 'no'} overloaded={'yes' if self.overloaded() else 'no'}")

    def retry_after(self) -> int:
        """Seconds a shed client should wait: about the time to drain what is queued now."""
        drain = (self.queued() + self.capacity) * self.service_time / self.capacity
        return max(1, min(30, math.ceil(drain)))

    def _gauge(self, priority: int) -> None:
        metrics.ADMISSION_QUEUED.labels(priority=str(priority)).set(len(self.queues[priority]))

    def budget(self, priority: int, arrived: float | None) -> float:
        """Seconds this request may still wait for a slot: its deadline less the time since it arrived."""
        deadline = self.deadlines[priority]
        if arrived is None:
            return deadline
        return deadline - max(0.0, self.clock() - arrived)

    async def acquire(self, priority: int, arrived: float | None = None, *, vetted: bool = False) -> Decision:
        """A slot, or why not. A refusal here is a verdict: the caller still decides how to answer (it may let
        the request in to renew a stale copy) and calls :meth:`refused` when it does refuse."""
        self._arrivals.add(self.clock(), priority)
        if arrived is not None:
            self.note_entry(self.clock() - arrived)
        if self.free_for(priority) > 0 and not any(self.queues[: priority + 1]):
            self._take(priority)
            return Decision(True)
        queue = self.queues[priority]
        # A vetted request was counted against the queue limit at the door; others vetted at the same moment
        # may have filled the queue since, and refusing it now would be a slow refusal.
        if len(queue) >= self.queue_limits[priority] and not vetted:
            return Decision(False, "queue_full")
        budget = self.budget(priority, arrived)
        if not vetted and self.warm:
            if budget <= 0 and self.deadlines[priority] > 0:
                # It spent its time before it got here (in the accept queue, or behind a busy event loop).
                return Decision(False, "late")
            # Priority 0 (signing in, posting) is never refused on an estimate, only when its queue is full or
            # its deadline has passed: refusing a post is worse than making it wait a little.
            if budget <= 0 or (priority != PRIORITIES[0] and not self.short_queue(priority)
                               and self.expected_wait(priority) > budget):
                return Decision(False, "expected_wait")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        self._gauge(priority)
        start = self.clock()
        # Served when a slot frees; given up only past PATIENCE times the deadline (the estimate was wrong),
        # and then only while requests are being refused: a calm process keeps waiting (up to CALM_LIMIT).
        deadline = self.deadlines[priority]
        patience = max(0.0, budget + (PATIENCE - 1.0) * deadline)
        try:
            await asyncio.wait({waiter}, timeout=patience)
            while not waiter.done() and self.calm() and self.clock() - start < CALM_LIMIT * deadline:
                await asyncio.wait({waiter}, timeout=max(deadline, 0.01))
        except asyncio.CancelledError:
            self._abandon(priority, waiter)
            raise
        if waiter.done() and not waiter.cancelled():
            return Decision(True, waited=self.clock() - start)
        self._abandon(priority, waiter)
        return Decision(False, "deadline", waited=self.clock() - start)

    def admit_now(self, priority: int) -> Decision:
        """Take a slot even when none is free (renewing a stale copy: one request at a time per process)."""
        self._take(priority)
        return Decision(True)

    def _take(self, priority: int) -> None:
        self.in_flight += 1
        if priority != PRIORITIES[0]:
            self.reads_in_flight += 1

    def _abandon(self, priority: int, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            # A slot was handed over just as the waiter gave up: pass it on.
            self.release(None, priority)
            return
        waiter.cancel()
        try:
            self.queues[priority].remove(waiter)
        except ValueError:
            pass
        self._gauge(priority)

    def release(self, service_time: float | None, priority: int) -> None:
        """A request of ``priority`` gave its slot back (``service_time``: how long it held it, None when it
        never ran); the slot goes to the oldest waiter of the most urgent priority that has room for it."""
        if service_time is not None:
            self.service_time += 0.2 * (service_time - self.service_time)
            self.completed += 1
        self.in_flight -= 1
        if priority != PRIORITIES[0]:
            self.reads_in_flight -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        for priority, queue in enumerate(self.queues):
            while queue and self.free_for(priority) > 0:
                waiter = queue.popleft()
                if not waiter.done():
                    self._take(priority)
                    waiter.set_result(None)
            self._gauge(priority)


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
        if cache is not None and cache.enabled:
            controller.stale_cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] not in ("http", "websocket") or bypasses(scope["path"]):
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        priority = classify(scope)
        info.priority = priority
        arrived = scope.get(ARRIVED_KEY)
        if not isinstance(arrived, float):
            arrived = None
        else:
            metrics.ADMISSION_ENTRY_DELAY.labels(priority=str(priority)).observe(max(0.0, time.monotonic() - arrived))
        cache_key = self._cache_key(scope, priority)
        client = client_of(scope.get("client"))
        # The one request renewing a stale copy (claimed at the door, or here) is served at once.
        renewing = cache_key is not None and self.cache is not None and self.cache.renewing(cache_key, client)
        if renewing:
            decision = self.controller.admit_now(priority)
        else:
            decision = await self.controller.acquire(priority, arrived, vetted=scope.get(VETTED_KEY) is True)
            if (not decision.admitted and cache_key is not None and self.cache is not None
                    and self.cache.claim_refresh(cache_key, client)):
                renewing = True
                decision = self.controller.admit_now(priority)
        if not decision.admitted:
            if cache_key is not None and self.cache is not None and await self.cache.serve(cache_key, send):
                self.controller.refused()
                info.stale = True
                metrics.STALE_SERVED.inc()
                return
            info.shed_state = self.controller.describe(priority)  # before refused(): the state it was judged in
            self.controller.refused()
            info.shed = True
            info.shed_reason = decision.reason
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
                self.controller.release(time.monotonic() - started, priority)

        streaming = scope["type"] == "websocket" or is_streaming(scope["path"])
        recorder = self.cache.recorder(cache_key) if cache_key is not None and self.cache is not None else None

        async def send_wrapper(message: Message) -> None:
            if streaming and message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                release()
            if recorder is not None:
                recorder(message)
            await send(message)
            # The client has its answer and may send its next request at once: the slot is free now, not
            # when the handler has unwound (a write comes back from the write lane a turn of the event loop
            # later). Held until then, a closed loop of N clients looked like more than N requests at once
            # and a read was refused on the estimate with no one waiting.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            release()
            if renewing and cache_key is not None and self.cache is not None:
                self.cache.end_refresh(cache_key, client)

    def _cache_key(self, scope: Scope, priority: int) -> str | None:
        if self.cache is None or not self.cache.enabled or scope["type"] != "http":
            return None
        return stale_key(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), priority)

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
