"""Driving an ASGI app by hand: scopes for made-up requests, and the response they got."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def http_scope(
    path: str,
    method: str = "GET",
    *,
    token: str | None = None,
    client: str = "203.0.113.7",
    headers: dict[str, str] | None = None,
    query: str = "",
) -> Scope:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if token is not None:
        raw.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": raw,
        "client": (client, 40000),
        "server": ("testserver", 80),
    }


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    messages: list[Message] = field(default_factory=list)

    def json(self) -> object:
        return orjson.loads(self.body)


async def call(app: ASGIApp, scope: Scope) -> Answer:
    answer = Answer()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        answer.messages.append(message)
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


Handler = Callable[[Scope], Awaitable[tuple[int, bytes, list[tuple[bytes, bytes]]]]]


class DummyApp:
    """Answers 200 with the path as body; a path with a gate waits for it first. Records the order served."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.started: list[str] = []
        self.finished: list[str] = []
        self.extra_headers: dict[str, list[tuple[bytes, bytes]]] = {}
        self.bodies: dict[str, bytes] = {}
        self.stream_after_start: set[str] = set()

    def gate(self, path: str) -> asyncio.Event:
        return self.gates.setdefault(path, asyncio.Event())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        self.started.append(path)
        headers = [(b"content-type", b"text/plain"), *self.extra_headers.get(path, [])]
        if path in self.stream_after_start:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        if path in self.gates:
            await self.gates[path].wait()
        body = self.bodies.get(path, path.encode())
        if path not in self.stream_after_start:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.finished.append(path)


async def until(condition: Callable[[], bool], *, turns: int = 10_000) -> None:
    """Let other tasks run until ``condition`` holds (no clock involved)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")
