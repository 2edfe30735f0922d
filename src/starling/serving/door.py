"""The door: a worker's connections are accepted on a thread of its own, which refuses at once what the
process cannot serve in time.

Why a thread. A web worker's event loop accepts new connections only between the steps of the requests
it is running. When those requests keep the CPU busy, new connections wait in the kernel's accept queue,
unseen by the process: the admission layer's queues stay empty, nothing is shed, and clients wait many
seconds for answers the server gives long after they left (the overload drill showed exactly this on
PostgreSQL; docs/RELIABILITY.md). The door thread waits in ``poll()`` on the shared listening socket,
needs the interpreter lock only for the few microseconds it takes per connection, and so accepts within
milliseconds whatever the event loop is doing. For each connection it:

1. stamps the time it was accepted (the request's budget counts from there, see
   ``web.middleware.admission.ARRIVED_KEY``);
2. reads the request head without consuming it (``MSG_PEEK``), waiting at most ``head_wait`` for it (a
   head that comes after the connection restarts the clock: the request arrived then);
3. asks the admission controller whether a request of that priority would be served within its
   deadline, given the requests queued and those already handed to the event loop but not yet there
   (:meth:`AdmissionController.door_verdict`);
4. if not, answers it right here: an anonymous read from the stale cache when a recent copy exists,
   otherwise ``503`` with ``Retry-After``, and closes the connection; the event loop never sees it.
   Only requests without a body are answered here (so nothing unread is left behind, which would turn
   the close into a reset); the others go in and the admission layer decides;
5. otherwise hands the connection to the event loop, which serves it with uvicorn's protocol as usual,
   marked "vetted" when the door judged it and let it in: the admission layer does not judge it again on
   arrival (a second verdict, after the time it took to reach the event loop, would turn a fast refusal
   here into a slow one there).

Health and metrics requests always go in. Without an admission controller (admission disabled) the door
only accepts and stamps.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Protocol
from urllib.parse import unquote

import orjson

from starling import metrics
from starling.web.middleware.classify import bypasses, classify
from starling.web.middleware.stale_cache import CachedResponse, StaleCache, client_of

log = logging.getLogger("starling.serving")
# Refusals at the door are logged at most once per this many seconds (one line with how many since),
# so that an operator sees when and why a worker sheds without a line per refused request.
REFUSAL_LOG_EVERY = 2.0

# Largest request head the door looks at; a longer one goes in and uvicorn deals with it.
MAX_HEAD = 16 * 1024
_BUSY_BODY = orjson.dumps({"error": "The server is busy, try again shortly"})
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


class Policy(Protocol):
    """What the door needs of the admission controller (``web.middleware.admission``)."""

    stale_cache: StaleCache | None

    def door_verdict(self, priority: int, pending: int) -> str: ...

    def refused(self) -> None: ...

    def retry_after(self) -> int: ...


@dataclass(frozen=True)
class Head:
    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    size: int  # bytes up to and including the blank line
    has_body: bool

    def scope(self) -> dict[str, object]:
        """Just enough of an ASGI scope for ``classify``."""
        return {"type": "http", "method": self.method, "path": self.path,
                "query_string": self.query.encode("latin-1"), "headers": self.headers}


def parse_head(data: bytes) -> Head | None:
    """The request line and headers of an HTTP/1.x request, or None when incomplete or not understood."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = data[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return None
    try:
        method = parts[0].decode("ascii")
        target = parts[1].decode("latin-1")
    except UnicodeDecodeError:
        return None
    if not target.startswith("/"):
        return None
    path, _, query = target.partition("?")
    headers: list[tuple[bytes, bytes]] = []
    has_body = False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            return None
        key, val = name.strip().lower(), value.strip()
        headers.append((key, val))
        if key == b"transfer-encoding" or (key == b"content-length" and val not in (b"0", b"")):
            has_body = True
    return Head(method, unquote(path), query, headers, end + 4, has_body or method not in _BODYLESS)


def busy_response(retry_after: int) -> bytes:
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"date: {formatdate(usegmt=True)}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(_BUSY_BODY)}\r\n"
        f"retry-after: {retry_after}\r\n"
        "cache-control: no-store\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + _BUSY_BODY


def stale_response(entry: CachedResponse, age: int) -> bytes:
    lines = [f"HTTP/1.1 {entry.status} OK".encode(), f"date: {formatdate(usegmt=True)}".encode()]
    has_length = False
    for key, value in entry.headers:
        if key == b"content-length":
            has_length = True
        lines.append(key + b": " + value)
    if not has_length:
        lines.append(f"content-length: {len(entry.body)}".encode())
    lines += [b"x-starling-stale: 1", f"age: {age}".encode(), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + entry.body


@dataclass(frozen=True)
class Verdict:
    """What the door does with one request: ``answer`` is None to let it in."""

    answer: bytes | None
    priority: int | None = None
    reason: str = ""
    stale: bool = False
    vetted: bool = False  # judged by the admission policy and let in


class DoorCounts:
    """Connections handed to the event loop, and how many of them reached the application (or closed
    before sending a request): the difference is work already inside the process the admission queues do
    not show yet. Each counter is written by one thread only."""

    def __init__(self) -> None:
        self.handed = 0
        self.reached = 0

    @property
    def pending(self) -> int:
        return max(0, self.handed - self.reached)


COUNTS = DoorCounts()


def decide(head: Head | None, policy: Policy | None, pending: int, *, clock: Callable[[], float] = time.monotonic,
           client: object = None) -> Verdict:
    """The door's decision for one request head (pure: no sockets, no threads). ``client``: the address and
    port it came from, which names the one request let in to renew a stale copy."""
    if head is None or policy is None or bypasses(head.path):
        return Verdict(None)
    priority = classify(head.scope())
    reason = policy.door_verdict(priority, pending)
    if not reason:
        return Verdict(None, priority, vetted=True)
    if head.has_body or head.method == "HEAD":  # HEAD: an answer without a body is uvicorn's job
        return Verdict(None, priority)
    cache = policy.stale_cache
    if cache is not None and cache.enabled and head.method == "GET" and priority == 2:
        key = f"{head.path}?{head.query}"
        if client is not None and cache.claim_refresh(key, client_of(client)):
            return Verdict(None, priority, vetted=True)  # it renews the copy: admission serves it at once
        entry = cache.get(key)
        if entry is not None:
            policy.refused()
            return Verdict(stale_response(entry, max(0, int(clock() - entry.stored_at))), priority, reason, True)
    policy.refused()
    return Verdict(busy_response(policy.retry_after()), priority, reason)


# What the door hands to the event loop: the connection, when it was accepted, and whether it was vetted.
Handed = tuple[socket.socket, float, bool]


class Door:
    """The accepting thread of one worker. ``hand_over`` receives a batch of (connection, accepted_at,
    vetted) from the thread and must pass them to the event loop (``loop.call_soon_threadsafe``)."""

    def __init__(
        self,
        listen: socket.socket,
        hand_over: Callable[[list[Handed]], None],
        policy: Callable[[], Policy | None],
        *,
        head_wait: float = 0.25,
        counts: DoorCounts = COUNTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.listen = listen
        self.hand_over = hand_over
        self.policy = policy
        self.head_wait = head_wait
        self.counts = counts
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Accepted connections whose request head has not arrived yet: fd -> (socket, accepted_at, address).
        self._waiting: dict[int, tuple[socket.socket, float, object]] = {}
        self._refusals_logged_at = -REFUSAL_LOG_EVERY
        self._refusals_unlogged: dict[tuple[str, str, str, str], int] = {}

    def start(self) -> None:
        # Non-blocking, as the other workers and the master expect of the shared socket (the flag belongs
        # to the open file, which they share): accept() here gives up at once when another process won.
        self.listen.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="starling-door", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop accepting; connections accepted but not yet decided are handed to the event loop."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self.listen.fileno(), select.POLLIN)
        try:
            while not self._stop.is_set():
                batch: list[Handed] = []
                try:
                    self._round(poller, batch)
                except Exception:
                    # Never let one bad moment stop the worker from accepting: log, and go on.
                    log.exception("the accepting thread failed on a connection; going on")
                self._flush(batch)
        finally:
            rest = [(conn, at, False) for conn, at, _address in self._waiting.values()]
            self._waiting.clear()
            self._flush(rest)

    def _round(self, poller: select.poll, batch: list[Handed]) -> None:
        timeout_ms = 100 if not self._waiting else max(1, int(self.head_wait * 1000 / 2))
        for fd, _mask in poller.poll(timeout_ms):
            if fd == self.listen.fileno():
                self._accept_all(poller, batch)
            elif fd in self._waiting:
                conn, _accepted_at, address = self._waiting.pop(fd)
                poller.unregister(fd)
                # Its deadline counts from when its request arrived, not from when the client connected.
                self._handle(conn, self.clock(), address, batch)
        now = self.clock()
        for fd, (conn, accepted_at, _address) in list(self._waiting.items()):
            if now - accepted_at >= self.head_wait:
                del self._waiting[fd]
                poller.unregister(fd)
                batch.append((conn, accepted_at, False))

    def _accept_all(self, poller: select.poll, batch: list[Handed]) -> None:
        for _ in range(256):
            try:
                conn, address = self.listen.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and the like: let the loop breathe, try again on the next poll
                log.warning("accept failed: %s", exc)
                return
            accepted_at = self.clock()
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self._handle(conn, accepted_at, address, batch, first_try=True):
                self._waiting[conn.fileno()] = (conn, accepted_at, address)
                poller.register(conn.fileno(), select.POLLIN)

    def _handle(self, conn: socket.socket, accepted_at: float, address: object, batch: list[Handed], *,
                first_try: bool = False) -> bool:
        """Decide about one connection; False when its head has not arrived yet (only on the first try)."""
        try:
            data = conn.recv(MAX_HEAD, socket.MSG_PEEK)
        except BlockingIOError:
            if first_try:
                return False
            batch.append((conn, accepted_at, False))  # still nothing: the event loop waits for it as usual
            return True
        except OSError:
            conn.close()
            return True
        if not data:  # closed before sending a request
            conn.close()
            return True
        head = parse_head(data)
        if head is None and first_try and len(data) < MAX_HEAD and b"\r\n\r\n" not in data:
            return False  # part of the head is still on its way
        try:
            verdict = decide(head, self.policy(), self.counts.pending, clock=self.clock, client=address)
        except Exception:
            log.exception("deciding at the door failed; the request goes in")
            verdict = Verdict(None)
        if verdict.answer is None or head is None:
            batch.append((conn, accepted_at, verdict.vetted))
            return True
        self._answer(conn, head, verdict, accepted_at)
        return True

    def _answer(self, conn: socket.socket, head: Head, verdict: Verdict, accepted_at: float) -> None:
        assert verdict.answer is not None
        # As few system calls as possible: each one hands the interpreter lock back to the event loop, and
        # getting it again costs this thread up to a switch interval while the event loop is busy.
        try:
            conn.recv(head.size)  # consume the head, so that closing sends FIN, not RST
            sent = conn.send(verdict.answer)  # a fresh socket's buffer takes a short answer whole
            if sent < len(verdict.answer):
                conn.settimeout(0.5)
                conn.sendall(verdict.answer[sent:])
        except OSError:
            pass
        finally:
            conn.close()
        priority = str(verdict.priority)
        route = "<stale>" if verdict.stale else "<shed>"
        status = "2xx" if verdict.stale else "5xx"
        if verdict.stale:
            metrics.STALE_SERVED.inc()
        else:
            metrics.SHED.labels(priority=priority, reason=f"door_{verdict.reason}").inc()
            self._note_refusal((head.method, head.path, priority, verdict.reason))
        metrics.HTTP_REQUESTS.labels(method=head.method, route=route, status=status).inc()
        metrics.HTTP_LATENCY.labels(method=head.method, route=route, status=status).observe(
            self.clock() - accepted_at)

    def _note_refusal(self, what: tuple[str, str, str, str]) -> None:
        """Log refusals at the door: the first after a quiet spell at once, then at most one line per
        ``REFUSAL_LOG_EVERY`` seconds with the count of each kind since the last line."""
        self._refusals_unlogged[what] = self._refusals_unlogged.get(what, 0) + 1
        now = self.clock()
        if now - self._refusals_logged_at < REFUSAL_LOG_EVERY:
            return
        self._refusals_logged_at = now
        counts = ", ".join(f"{n} × {method} {path} priority {priority} {reason}"
                           for (method, path, priority, reason), n in sorted(self._refusals_unlogged.items()))
        self._refusals_unlogged = {}
        log.info("refused at the door with 503: %s", counts)

    def _flush(self, batch: list[Handed]) -> None:
        if not batch:
            return
        self.counts.handed += len(batch)
        try:
            self.hand_over(batch)
        except RuntimeError:  # the event loop is closed: nobody will serve them
            for conn, _at, _vetted in batch:
                conn.close()
