"""Streaming clients for the drills: each follows one account's home stream over server-sent events and,
whenever the stream ends or breaks (a worker drains during a reload, a worker dies), reconnects at once
with ``Last-Event-ID`` so that the server replays what it missed. Every event is recorded, so the drill can
check afterwards that none was missed and none came twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

STREAM_PATH = "/api/v1/streaming/user"


def streaming_available(base_url: str, token: str) -> bool:
    """Whether the server has the SSE endpoint (its health answer, then a real stream that opens)."""
    try:
        health = httpx.get(f"{base_url}/api/v1/streaming/health", timeout=10)
        if health.status_code != 200:
            return False
        with httpx.stream("GET", f"{base_url}{STREAM_PATH}", headers={"Authorization": f"Bearer {token}"},
                          timeout=httpx.Timeout(10, read=5)) as response:
            return response.status_code == 200 and "text/event-stream" in response.headers.get("content-type", "")
    except httpx.HTTPError:
        return False


@dataclass
class StreamEvent:
    id: int | None
    event: str
    status_id: int | None
    received: float
    connection: int  # 1 for the first connection of the stream, 2 after the first resume, ...


@dataclass
class ResumingStream:
    """One SSE client of ``/api/v1/streaming/user`` in a thread of its own, resuming after every end."""

    base_url: str
    token: str
    account_id: int
    events: list[StreamEvent] = field(default_factory=list)
    connections: int = 0
    resumed: int = 0
    ends: Counter[str] = field(default_factory=Counter)
    opened_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _opened: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _client: httpx.Client | None = None

    @property
    def last_id(self) -> int | None:
        ids = [e.id for e in self.events if e.id is not None]
        return ids[-1] if ids else None

    def start(self, wait: float = 30.0) -> ResumingStream:
        self._thread = threading.Thread(target=self._run, name=f"sse-{self.account_id}", daemon=True)
        self._thread.start()
        if not self._opened.wait(wait):
            raise RuntimeError(f"the stream of account {self.account_id} did not open")
        return self

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            client.close()  # ends a read in progress
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = {"Authorization": f"Bearer {self.token}"}
            last = self.last_id
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                with httpx.Client(timeout=httpx.Timeout(10, read=60)) as client:
                    self._client = client
                    with client.stream("GET", f"{self.base_url}{STREAM_PATH}", headers=headers) as response:
                        if response.status_code != 200:
                            response.read()
                            self.ends[f"http-{response.status_code}"] += 1
                            time.sleep(0.2)
                            continue
                        self.connections += 1
                        if last is not None:
                            self.resumed += 1
                        if self.opened_at is None:
                            self.opened_at = time.monotonic()
                        self._opened.set()
                        self._read(response.iter_lines())
                        self.ends["ended by the server"] += 1
            except httpx.HTTPError as exc:
                if self._stop.is_set():
                    return
                self.ends[type(exc).__name__] += 1
                time.sleep(0.05)
            finally:
                self._client = None

    def _read(self, lines: Iterable[str]) -> None:
        current: dict[str, str] = {}
        for line in lines:
            if self._stop.is_set():
                return
            if line.startswith(":"):
                continue
            if line == "":
                if "event" in current:
                    self._record(current)
                current = {}
                continue
            key, _, value = line.partition(":")
            current[key] = value[1:] if value.startswith(" ") else value

    def _record(self, fields: dict[str, str]) -> None:
        status_id: int | None = None
        if fields["event"] == "update":
            try:
                status_id = int(json.loads(fields.get("data", "{}"))["id"])
            except (ValueError, KeyError, TypeError):
                status_id = None
        raw_id = fields.get("id")
        event_id = int(raw_id) if raw_id and raw_id.isdigit() else None
        self.events.append(StreamEvent(event_id, fields["event"], status_id, time.monotonic(), self.connections))


def check_streams(streams: Sequence[ResumingStream], follows: dict[int, set[int]],
                  posts: Sequence[tuple[int, int]]) -> dict[str, Any]:
    """Compare what every stream received with what it had to receive.

    ``follows`` maps a stream's account to the authors it follows; ``posts`` are the acknowledged posts as
    (status id, author id), all sent after the streams opened. A stream must have an ``update`` for every
    such post of an author it follows (or of its own), and no event twice (the same event id, or a second
    ``update`` of the same status).
    """
    missing: list[tuple[int, int]] = []
    duplicate_examples: list[dict[str, Any]] = []
    duplicated_events = 0
    duplicated_updates = 0
    expected_total = 0
    for stream in streams:
        authors = follows.get(stream.account_id, set()) | {stream.account_id}
        expected = {sid for sid, author in posts if author in authors}
        expected_total += len(expected)
        updates = [e.status_id for e in stream.events if e.event == "update" and e.status_id is not None]
        received = set(updates)
        missing += [(stream.account_id, sid) for sid in sorted(expected - received)]
        ids = [e.id for e in stream.events if e.id is not None]
        duplicated_events += len(ids) - len(set(ids))
        seen: dict[int, StreamEvent] = {}
        for e in stream.events:
            if e.id is None:
                continue
            first = seen.setdefault(e.id, e)
            if first is not e and len(duplicate_examples) < 5:
                duplicate_examples.append({"account": stream.account_id, "event_id": e.id, "event": e.event,
                                           "connections": [first.connection, e.connection]})
        duplicated_updates += len(updates) - len(received)
    return {
        "streams": len(streams),
        "connections": sum(s.connections for s in streams),
        "resumed_with_last_event_id": sum(s.resumed for s in streams),
        "stream_ends": dict(sum((s.ends for s in streams), Counter())),
        "events": sum(len(s.events) for s in streams),
        "updates_expected": expected_total,
        "updates_missing": len(missing),
        "missing_examples": missing[:5],
        "duplicated_event_ids": duplicated_events,
        "duplicate_examples": duplicate_examples,
        "duplicated_updates": duplicated_updates,
    }
