"""Open streams are served in front of the middleware stack: the handshake passes through every layer
(admission, rate limits, metrics and the access log, activity), and once the stream is open none of
those layers keeps a frame for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from starling import metrics
from starling.bootstrap import Container
from starling.config import Settings
from starling.streaming.hub import Hub
from starling.web.app import create_app
from starling.web.mastodon.streaming import get_hub, stop_streaming
from starling.web.middleware.activity import recorder_for
from tests.conftest import MakeActor

MIDDLEWARE_FRAMES = ("ObserveMiddleware", "RateLimitMiddleware", "AdmissionMiddleware", "ActivityMiddleware",
                     "ReadOnlyMiddleware", "ServerErrorMiddleware", "ExceptionTelemetryMiddleware",
                     "AppBodyLimitMiddleware", "ExceptionMiddleware")


@pytest.fixture
async def hub(container: Container) -> AsyncIterator[Hub]:
    yield await get_hub(container)
    await stop_streaming(container)


class Client:
    """One request run on the app as a server would; it leaves (disconnects) when told."""

    def __init__(self, app: Any, path: str, *, kind: str = "http", headers: dict[str, str] | None = None,
                 client: str = "203.0.113.9") -> None:
        self.messages: list[dict[str, Any]] = []
        self._left = asyncio.Event()
        self._connected = False
        self.kind = kind
        scope: dict[str, Any] = {
            "type": kind, "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"),
                        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())],
            "client": (client, 1234), "server": ("testserver", 80),
        }
        if kind == "http":
            scope["method"] = "GET"
        else:
            scope["subprotocols"] = []
            scope["extensions"] = {"websocket.http.response": {}}
        self.scope = scope
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if self.kind == "websocket" and not self._connected:
            self._connected = True
            return {"type": "websocket.connect"}
        await self._left.wait()
        return {"type": "http.disconnect"} if self.kind == "http" else {"type": "websocket.disconnect",
                                                                          "code": 1000}

    async def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def answered(self) -> dict[str, Any]:
        """The first message sent (the response's head, the accept or the close)."""
        for _ in range(2000):
            if self.messages:
                return self.messages[0]
            assert not self.task.done() or self.messages, self.task
            await asyncio.sleep(0.005)
        raise AssertionError("no answer")

    async def leave(self) -> None:
        self._left.set()
        await self.task


def _frames(task: asyncio.Task[Any]) -> list[str]:
    """The qualified names of the coroutines a task is suspended in, outermost first."""
    names: list[str] = []
    awaiting: Any = task.get_coro()
    while awaiting is not None:
        code = getattr(awaiting, "cr_code", None) or getattr(awaiting, "gi_code", None)
        if code is None:
            break
        names.append(code.co_qualname)
        awaiting = getattr(awaiting, "cr_await", None) or getattr(awaiting, "gi_yieldfrom", None)
    return names


def _access_lines(caplog: pytest.LogCaptureFixture, path: str) -> list[dict[str, Any]]:
    return [vars(r) for r in caplog.records if r.name == "starling.access" and vars(r).get("path") == path]


def _headers(message: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(message.get("headers", []))


async def test_an_open_sse_stream_keeps_no_middleware_frame(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    app = create_app(container=container)
    stream = Client(app, "/api/v1/streaming/user", headers=ann.headers)
    try:
        head = await stream.answered()
        assert head["status"] == 200
        await asyncio.sleep(0.05)
        frames = _frames(stream.task)
        assert any(name.startswith("StreamingFront.") for name in frames), frames
        assert not [name for name in frames if name.split(".")[0] in MIDDLEWARE_FRAMES], frames
        # Nor the request's headers, or what the layers noted about the request.
        assert stream.scope["headers"] == [] and "starling.request" not in stream.scope
    finally:
        await stream.leave()


async def test_an_open_websocket_keeps_no_middleware_frame(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    app = create_app(container=container)
    stream = Client(app, "/api/v1/streaming", kind="websocket", headers=ann.headers)
    try:
        assert (await stream.answered())["type"] == "websocket.accept"
        await asyncio.sleep(0.05)
        frames = _frames(stream.task)
        assert any(name.startswith("StreamingFront.") for name in frames), frames
        assert not [name for name in frames if name.split(".")[0] in MIDDLEWARE_FRAMES], frames
    finally:
        await stream.leave()
    assert not hub.connections


async def test_the_handshake_is_one_request_for_metrics_the_access_log_and_activity(
    container: Container, make_actor: MakeActor, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    ann = await make_actor("ann")
    app = create_app(container=container)
    recorder_for(container).counter.drain()
    caplog.set_level(logging.INFO, logger="starling.access")
    labels = {"method": "GET", "route": "<unmatched>", "status": metrics.status_class(200)}
    counted = metrics.HTTP_REQUESTS.labels(**labels)._value.get()
    in_flight = metrics.HTTP_IN_FLIGHT._value.get()
    stream = Client(app, "/api/v1/streaming/user", headers={**ann.headers, "X-Request-Id": "stream-1"})
    try:
        head = await stream.answered()
        assert head["status"] == 200
        assert _headers(head)[b"x-request-id"] == b"stream-1"
        await asyncio.sleep(0.05)
        # Counted and logged once the handshake is answered, while the stream stays open.
        assert not stream.task.done()
        assert metrics.HTTP_REQUESTS.labels(**labels)._value.get() == counted + 1
        assert metrics.HTTP_IN_FLIGHT._value.get() == in_flight
        lines = _access_lines(caplog, "/api/v1/streaming/user")
        assert [(x["status"], x["request_id"], x["priority"]) for x in lines] == [(200, "stream-1", 0)]
        assert recorder_for(container).counter.pending_requests == 1
    finally:
        await stream.leave()
    # Leaving does not count it again.
    assert metrics.HTTP_REQUESTS.labels(**labels)._value.get() == counted + 1
    assert recorder_for(container).counter.pending_requests == 1


async def test_a_refused_handshake_is_counted_with_its_status(
    container: Container, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(container=container)
    caplog.set_level(logging.INFO, logger="starling.access")
    stream = Client(app, "/api/v1/streaming/user")  # no token
    await stream.task
    assert stream.messages[0]["status"] == 401
    assert [x["status"] for x in _access_lines(caplog, "/api/v1/streaming/user")] == [401]


def _busy_app(container: Container, **changes: Any) -> Any:
    settings: Settings = container.settings.model_copy(
        update={"max_concurrency": 1, "admission_queue_limits": (0, 0, 0), **changes})
    return create_app(settings, container=container)


async def test_admission_refuses_a_stream_handshake_when_full(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    app = _busy_app(container)
    probe = Client(app, "/api/v1/streaming/health")  # builds the stack; then take the only slot
    await probe.task
    controller = app.state.admission
    controller.in_flight = 1
    try:
        sse = Client(app, "/api/v1/streaming/user", headers=ann.headers)
        await sse.task
        head = sse.messages[0]
        assert head["status"] == 503 and b"retry-after" in _headers(head)
        assert b'"error"' in sse.messages[1]["body"]
        ws = Client(app, "/api/v1/streaming", kind="websocket", headers=ann.headers)
        await ws.task
        assert ws.messages[0] == {"type": "websocket.close", "code": 1013,
                                  "reason": "The server is busy, try again shortly"}
        assert not hub.connections
    finally:
        controller.in_flight = 0


async def test_an_admitted_stream_holds_its_slot_only_for_the_handshake(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    app = _busy_app(container)
    sse = Client(app, "/api/v1/streaming/user", headers=ann.headers)
    assert (await sse.answered())["status"] == 200
    # The only slot is free again while the first stream stays open: the next handshake gets it.
    ws = Client(app, "/api/v1/streaming", kind="websocket", headers=ann.headers)
    try:
        assert (await ws.answered())["type"] == "websocket.accept"
        await asyncio.sleep(0.05)
        assert app.state.admission.in_flight == 0
        assert len(hub.connections) == 2
    finally:
        await sse.leave()
        await ws.leave()


async def test_admission_switched_off_lets_streams_in(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    app = _busy_app(container, admission_enabled=False)
    probe = Client(app, "/api/v1/streaming/health")
    await probe.task
    app.state.admission.in_flight = 1
    sse = Client(app, "/api/v1/streaming/user", headers=ann.headers)
    try:
        assert (await sse.answered())["status"] == 200
    finally:
        await sse.leave()
        app.state.admission.in_flight = 0


async def test_a_stream_handshake_spends_the_rate_limit_budget(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    ann = await make_actor("ann")
    settings = container.settings.model_copy(update={"rate_limit_requests": 1})
    app = create_app(settings, container=container)
    first = Client(app, "/api/v1/streaming/user", headers=ann.headers, client="198.51.100.4")
    try:
        head = await first.answered()
        assert head["status"] == 200
        assert _headers(head)[b"x-ratelimit-limit"] == b"1"
        assert _headers(head)[b"x-ratelimit-remaining"] == b"0"
        second = Client(app, "/api/v1/streaming/user", headers=ann.headers, client="198.51.100.4")
        await second.task
        assert second.messages[0]["status"] == 429
        assert len(hub.connections) == 1
    finally:
        await first.leave()


async def test_the_routed_html_stream_still_goes_through_the_stack(container: Container, hub: Hub) -> None:
    app = create_app(container=container)
    stream = Client(app, "/api/v1/streaming/web/user")  # no session: refused by its route
    await stream.task
    head = stream.messages[0]
    assert head["status"] == 401
    assert b"x-request-id" in _headers(head)
