"""Recent answers to anonymous reads, served when the same read would otherwise be shed.

Only reads without any credential reach this cache (the classifier puts them in the last priority), so
a cached answer never depends on who asked. Answers that set a cookie or say they are private are not
kept. A stale answer carries ``X-Starling-Stale: 1`` and its ``Age``.

Under a long overload every anonymous read is refused, so nothing would renew the copies and after
``ttl`` seconds the refusals would all be 503s. So once a copy is past half its ``ttl`` (or missing), one
request for it is let through to renew it (:meth:`claim_refresh`), served at once even if every slot is
taken; one such request at a time per process, so renewing costs the server at most one slot.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Message, Send

# A copy older than this share of the ttl is renewed by the next request for it that would be refused.
REFRESH_SHARE = 0.5
_DROPPED_HEADERS = frozenset({b"date", b"set-cookie", b"x-request-id", b"age", b"connection"})


def client_of(address: object) -> object:
    """A client's address and port, as the ASGI scope and ``socket.accept`` give them (IPv6 adds fields)."""
    if isinstance(address, (tuple, list)) and len(address) >= 2:
        return (address[0], address[1])
    return address


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    stored_at: float


class StaleCache:
    def __init__(
        self,
        *,
        ttl: float = 5.0,
        max_entries: int = 512,
        max_body: int = 256 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_body = max_body
        self.clock = clock
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        # The request renewing a copy now: (key, who asked (the client's address and port), since when).
        # Claimed by the worker's accepting thread or the event loop, hence the lock.
        self._refresh: tuple[str, object, float] | None = None
        self._refresh_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> CachedResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.clock() - entry.stored_at > self.ttl:
            # pop, not del: the worker's accepting thread reads this cache too (serving/door.py), and the
            # event loop may have replaced or dropped the entry in between.
            self._entries.pop(key, None)
            return None
        return entry

    def put(self, key: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        kept = tuple((k, v) for k, v in headers if k.lower() not in _DROPPED_HEADERS)
        self._entries[key] = CachedResponse(status, kept, body, self.clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def claim_refresh(self, key: str, client: object) -> bool:
        """True when the request of ``client`` for ``key`` is to renew the copy: the copy is missing or past
        half its ttl, and no other renewal is under way (one left unfinished for a whole ttl is forgotten)."""
        if not self.enabled:
            return False
        now = self.clock()
        with self._refresh_lock:
            if self._refresh is not None and now - self._refresh[2] < self.ttl:
                return False
            entry = self._entries.get(key)
            if entry is not None and now - entry.stored_at < self.ttl * REFRESH_SHARE:
                return False
            self._refresh = (key, client, now)
            return True

    def renewing(self, key: str, client: object) -> bool:
        """True when this request (``client``) holds the claim to renew ``key``."""
        claim = self._refresh
        return claim is not None and claim[0] == key and claim[1] == client

    def end_refresh(self, key: str, client: object) -> None:
        with self._refresh_lock:
            if self.renewing(key, client):
                self._refresh = None

    def recorder(self, key: str) -> Callable[[Message], None]:
        """A callback that watches a response's messages and keeps a copy when it is worth keeping."""
        return _Recorder(self, key)

    async def serve(self, key: str, send: Send) -> bool:
        entry = self.get(key)
        if entry is None:
            return False
        age = max(0, int(self.clock() - entry.stored_at))
        # Closing the connection makes a client that retries at once pay for a new one: see admission.py.
        headers = [*entry.headers, (b"x-starling-stale", b"1"), (b"age", str(age).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
        return True


def _storable(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key == b"set-cookie":
            return False
        if key == b"cache-control" and (b"private" in value or b"no-store" in value):
            return False
    return True


class _Recorder:
    def __init__(self, cache: StaleCache, key: str) -> None:
        self.cache = cache
        self.key = key
        self.keep = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.size = 0

    def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            self.keep = message["status"] == 200 and _storable(self.headers)
        elif message["type"] == "http.response.body" and self.keep:
            body: bytes = message.get("body", b"")
            self.size += len(body)
            if self.size > self.cache.max_body:
                self.keep = False
                self.chunks.clear()
                return
            self.chunks.append(body)
            if not message.get("more_body", False):
                self.cache.put(self.key, 200, self.headers, b"".join(self.chunks))
