"""Mastodon API: the streaming API, over server-sent events and over one multiplexed WebSocket.

``GET /api/v1/streaming/<stream>`` answers ``text/event-stream``: ``id:``, ``event:`` and ``data:`` lines
(the payload a JSON string, as Mastodon sends it) and ``:thump`` heartbeats. ``/api/v1/streaming`` as a
WebSocket takes ``stream=`` on connect and ``{"type": "subscribe" | "unsubscribe", "stream": ...}``
messages, and sends ``{"stream": [...], "event": ..., "payload": ..., "id": ...}``. A client that
reconnects with ``Last-Event-ID`` (or ``?since=``) first receives what it missed (docs/STREAMING.md).

The endpoints are a plain ASGI layer rather than routes: a connection stays open for hours, and every
frame kept alive for it is memory held per idle client. The handshake passes through the middleware
stack like any request (:class:`StreamingMiddleware`, innermost); the open stream is then served in
front of the stack (:class:`StreamingFront`), so none of the middleware frames stay for its lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling.bootstrap import Container
from starling.domain.errors import BadRequest, Forbidden, NotFound, StarlingError, Unauthorized, Unprocessable
from starling.domain.ids import parse_id
from starling.domain.scopes import grants
from starling.streaming import store
from starling.streaming.audience import ANONYMOUS_STREAMS, STREAMS, StreamSpec
from starling.streaming.connection import CLOSE_BACKLOG, CLOSE_POLICY, HEARTBEAT, Connection, Frame
from starling.streaming.hub import Hub
from starling.web.deps import Viewer, load_viewer
from starling.web.mastodon.streaming_render import make_renderer
from starling.web.middleware.context import SCOPE_KEY

PREFIX = "/api/v1/streaming"
# Streams served by routes of their own (the HTML pages' cookie-authenticated stream).
ROUTED_PREFIX = PREFIX + "/web/"
HUB_KEY = "streaming_hub"
_hub_lock = asyncio.Lock()
CLIENT_LEFT = "The client left"

# Which scope (any one of) each stream needs. "read" covers them all.
STREAM_SCOPES: dict[str, tuple[str, ...]] = {
    "user": ("read:statuses", "read:notifications"),
    "user:notification": ("read:notifications",),
    "list": ("read:lists", "read:statuses"),
    "direct": ("read:statuses",),
}
DEFAULT_SCOPES = ("read:statuses",)

SSE_PATHS = {
    "user": "user", "user/notification": "user:notification", "public": "public", "public/local": "public:local",
    "public/remote": "public:remote", "hashtag": "hashtag", "hashtag/local": "hashtag:local", "list": "list",
    "direct": "direct",
}
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


# -- the hub of this process ----------------------------------------------------------------------

async def get_hub(container: Container) -> Hub:
    hub = container.extras.get(HUB_KEY)
    if not isinstance(hub, Hub):
        hub = Hub(container.settings, container.sessions, make_renderer(container.settings))
        container.extras[HUB_KEY] = hub
    if not hub.started:
        async with _hub_lock:
            await hub.start()
    return hub


async def start_streaming(container: Container) -> None:
    await get_hub(container)


async def stop_streaming(container: Container) -> None:
    hub = container.extras.pop(HUB_KEY, None)
    if isinstance(hub, Hub):
        await hub.stop()


# -- parsing and checks ---------------------------------------------------------------------------

def _flag(value: Any) -> bool:
    return str(value or "").lower() in ("1", "true", "on", "yes")


def parse_stream(name: Any, params: Mapping[str, Any]) -> StreamSpec:
    """A stream name (Mastodon's, e.g. ``public:local``) and its parameters → a subscription."""
    if not isinstance(name, str) or name not in STREAMS:
        raise NotFound("Unknown stream type")
    if name.startswith("public") and not name.endswith(":media") and _flag(params.get("only_media")):
        name += ":media"
    if name.startswith("hashtag"):
        tag = str(params.get("tag") or "").lstrip("#").strip()
        if not tag:
            raise BadRequest("No tag for stream provided")
        return StreamSpec(name, tag=tag.lower())
    if name == "list":
        list_id = parse_id(params.get("list"))
        if list_id is None:
            raise BadRequest("No list for stream provided")
        return StreamSpec(name, list_id=list_id)
    return StreamSpec(name)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who holds a stream: ids and scopes only (a connection lives for hours; loaded rows would too)."""

    token_id: int
    account_id: int | None
    scopes: frozenset[str]


# Tokens hold a handful of distinct scope sets: connections share one frozenset per set instead of each
# keeping its own copy for hours (bounded, in case tokens carry unusual combinations).
_SCOPE_SETS: dict[frozenset[str], frozenset[str]] = {}
_SCOPE_SETS_MAX = 256


def shared_scopes(scopes: frozenset[str]) -> frozenset[str]:
    """One frozenset object for every connection with the same scopes."""
    known = _SCOPE_SETS.get(scopes)
    if known is not None:
        return known
    if len(_SCOPE_SETS) < _SCOPE_SETS_MAX:
        _SCOPE_SETS[scopes] = scopes
    return scopes


async def authenticate(container: Container, raw_token: str | None) -> Principal | None:
    """The token's holder, checked as for every request (revoked, suspended, unapproved: refused)."""
    if not raw_token:
        return None
    async with container.sessions() as session:
        viewer: Viewer = await load_viewer(session, raw_token)
        return Principal(viewer.token.id, viewer.account.id if viewer.account else None,
                         shared_scopes(viewer.scopes))


async def check_allowed(container: Container, viewer: Principal | None, spec: StreamSpec) -> None:
    """Authentication and scopes for one subscription (and that a list is the viewer's)."""
    if viewer is None:
        if spec.name not in ANONYMOUS_STREAMS:
            raise Unauthorized("Missing access token")
        return
    needed = STREAM_SCOPES.get(spec.name, DEFAULT_SCOPES)
    if not any(grants(viewer.scopes, s) for s in needed):
        raise Forbidden("Access token does not have the required scopes")
    if spec.name not in ANONYMOUS_STREAMS and viewer.account_id is None:
        raise Unauthorized("This stream requires an authenticated user")
    if spec.list_id is not None:
        async with container.sessions() as session:
            owned = viewer.account_id is not None and await store.owns_list(session, viewer.account_id,
                                                                            spec.list_id)
        if not owned:
            raise NotFound("List not found")


def _resume_from(value: str | None) -> int | None:
    if not value:
        return None
    try:
        parsed = int(value)
    except ValueError:
        return None
    return parsed if parsed >= 0 else None


class _Request:
    """What a streaming request says: path, query parameters, headers and its token."""

    def __init__(self, scope: Scope) -> None:
        self.path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        self.params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        self.headers: dict[str, str] = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        self.protocol = (self.headers.get("sec-websocket-protocol") or "").split(",")[0].strip() or None

    def token(self, *, websocket: bool) -> str | None:
        header = self.headers.get("authorization")
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return value.strip()
        if self.params.get("access_token"):
            return self.params["access_token"]
        return self.protocol if websocket else None

    def resume(self) -> int | None:
        return _resume_from(self.headers.get("last-event-id") or self.params.get("since"))


def _new_connection(hub: Hub, viewer: Principal | None, transport: str) -> Connection:
    return hub.new_connection(
        account_id=viewer.account_id if viewer else None,
        token_id=viewer.token_id if viewer else None,
        scopes=viewer.scopes if viewer else frozenset(),
        transport=transport,
    )


def _cancelled_for_backlog(conn: Connection) -> bool:
    """The writer was cancelled because its client stopped reading: end quietly (the connection goes)."""
    task = asyncio.current_task()
    if conn.close_code != CLOSE_BACKLOG or task is None:
        return False
    task.uncancel()
    return True


def _error_body(exc: StarlingError) -> bytes:
    return orjson.dumps({"error": exc.message})


# -- formats --------------------------------------------------------------------------------------

def sse_chunk(frames: list[Frame]) -> bytes:
    parts: list[bytes] = []
    for frame in frames:
        if frame is HEARTBEAT:
            parts.append(b":thump\n")
        else:
            parts.append(frame.sse())
    return b"".join(parts)


def _error_frame(message: str, status: int) -> Frame:
    return Frame.raw(orjson.dumps({"error": message, "status": status}).decode())


# -- the ASGI layers ------------------------------------------------------------------------------

# Scope key: where the handshake layer leaves an opened stream for the front layer to serve.
OPENED_KEY = "starling.stream"


def is_stream_request(scope: Scope) -> bool:
    """A request this module answers (everything under the prefix but the routed HTML stream)."""
    if scope["type"] not in ("http", "websocket"):
        return False
    path: str = scope.get("path", "")
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(ROUTED_PREFIX)


class OpenedStream:
    """A stream whose handshake has been answered, waiting to be served."""

    __slots__ = ("conn", "hub", "resume", "up_to", "viewer")

    def __init__(self, hub: Hub, conn: Connection, resume: int | None, up_to: int,
                 viewer: Principal | None = None) -> None:
        self.hub = hub
        self.conn = conn
        self.resume = resume
        self.up_to = up_to
        self.viewer = viewer

    def abandon(self) -> None:
        self.hub.unregister(self.conn)
        self.conn.close(CLIENT_LEFT)


async def open_stream(scope: Scope, receive: Receive, send: Send) -> OpenedStream | None:
    """The handshake: checks, then the connection registered and the response (or accept) sent.
    None when the request was answered otherwise (an error, the health check, a refused handshake)."""
    container: Container = scope["app"].state.container
    if scope["type"] == "websocket":
        return await open_websocket(container, scope, receive, send)
    return await open_sse(container, scope, receive, send)


async def serve_stream(scope: Scope, opened: OpenedStream, receive: Receive, send: Send) -> None:
    """Deliver events on an opened stream until either side ends it."""
    hub, conn, resume, up_to, viewer = opened.hub, opened.conn, opened.resume, opened.up_to, opened.viewer
    del opened
    if scope["type"] == "websocket":
        await serve_websocket(scope["app"].state.container, hub, conn, viewer, resume, up_to, receive, send)
    else:
        del viewer
        await stream_sse(hub, conn, resume, up_to, receive, send)


class StreamingMiddleware:
    """Answers every request under ``/api/v1/streaming`` (but the routed HTML stream); passes everything
    else on. Installed innermost, so that a stream's handshake passes through every middleware layer
    (observation, rate limits, admission, activity) like any request.

    With :class:`StreamingFront` in front of the middleware stack, this layer only answers the handshake
    and hands the opened stream to the front layer, which serves it once the middleware layers have
    returned; alone, it serves the stream itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_stream_request(scope):
            await self.app(scope, receive, send)
            return
        opened = await open_stream(scope, receive, send)
        if opened is None:
            return
        front = scope.get(OPENED_KEY)
        if isinstance(front, list):
            front.append(opened)
            return
        await serve_stream(scope, opened, receive, send)


class StreamingFront:
    """In front of the whole middleware stack: a stream's handshake goes through the stack (to
    :class:`StreamingMiddleware`), and the stream is served here once the stack has returned, so an
    idle connection holds this frame and the stream's own, not the frames of every middleware layer.

    What the layers do for a stream is therefore done at handshake time only: the handshake is one
    request for metrics and the access log (its duration the handshake's), spends the rate-limit
    budget once, holds an admission slot until it is answered and counts once for activity."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_stream_request(scope):
            await self.app(scope, receive, send)
            return
        handed: list[OpenedStream] = []
        scope[OPENED_KEY] = handed
        try:
            await self.app(scope, receive, send)
        except BaseException:
            for opened in handed:
                opened.abandon()
            raise
        finally:
            scope.pop(OPENED_KEY, None)
        if handed:
            opened = handed.pop()
            del handed
            _forget_handshake(scope)
            await serve_stream(scope, opened, receive, send)


def _forget_handshake(scope: Scope) -> None:
    """Let go of what only the handshake needed and the server would keep for the stream's lifetime: the
    request headers (read by the layers and the checks, never again) and what the layers noted."""
    headers = scope.get("headers")
    if isinstance(headers, list):
        headers.clear()  # in place: the server's protocol may hold the same list
    scope.pop(SCOPE_KEY, None)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


async def open_sse(container: Container, scope: Scope, receive: Receive, send: Send) -> OpenedStream | None:
    """Answers what is not a stream (errors, health) and returns None; else opens the stream."""
    opened = await sse_stream(container, scope, receive, send)
    if opened is None:
        return None
    hub, conn, resume = opened
    up_to = await start_sse(hub, conn, resume, send)
    return OpenedStream(hub, conn, resume, up_to)


async def sse_stream(container: Container, scope: Scope, receive: Receive,
                     send: Send) -> tuple[Hub, Connection, int | None] | None:
    """Answers what is not a stream (errors, health) and returns None; else the connection to serve."""
    request = _Request(scope)
    if scope.get("method", "GET") not in ("GET", "HEAD"):
        await _send_json(send, 405, orjson.dumps({"error": "Method not allowed"}))
        return None
    sub = request.path[len(PREFIX):].strip("/")
    if sub == "health":
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"OK"})
        return None
    try:
        if "\x00" in request.path or "\x00" in "".join(request.params.values()):
            raise Unprocessable("Validation failed: the request contains a NUL character")
        name = request.params.get("stream") if sub == "" else SSE_PATHS.get(sub)
        if name is None and sub:
            raise NotFound("Unknown stream type")
        spec = parse_stream(name, request.params)
        viewer = await authenticate(container, request.token(websocket=False))
        await check_allowed(container, viewer, spec)
        hub = await get_hub(container)
    except StarlingError as exc:
        await _send_json(send, exc.status_code, _error_body(exc))
        return None
    conn = _new_connection(hub, viewer, "sse")
    await hub.subscribe(conn, spec)
    return hub, conn, request.resume()


async def start_sse(hub: Hub, conn: Connection, resume: int | None, send: Send) -> int:
    """Register the connection and send the response's head; returns the position live events follow."""
    conn.after = resume or 0
    up_to = await hub.register(conn)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    except BaseException:
        hub.unregister(conn)
        conn.close(CLIENT_LEFT)
        raise
    return up_to


async def serve_sse(hub: Hub, conn: Connection, resume: int | None, receive: Receive, send: Send) -> None:
    up_to = await start_sse(hub, conn, resume, send)
    await stream_sse(hub, conn, resume, up_to, receive, send)


async def stream_sse(hub: Hub, conn: Connection, resume: int | None, up_to: int, receive: Receive,
                     send: Send) -> None:
    """The body of an SSE response whose head has been sent (by :func:`start_sse`)."""
    watcher = asyncio.ensure_future(_until_disconnect(receive, conn))
    try:
        await _write_sse(conn, send, b":)\n")
        if resume is not None:
            async for frame in hub.replay(conn, resume, up_to):
                await _write_sse(conn, send, frame.sse())
        while True:
            first = await conn.next()
            if first is None:
                break
            await _write_sse(conn, send, sse_chunk([first, *conn.drain_ready()]))
        if conn.close_reason and conn.close_reason != CLIENT_LEFT:
            await send({"type": "http.response.body", "body": f":{conn.close_reason}\n\n".encode(),
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not _cancelled_for_backlog(conn):
            raise
    finally:
        hub.unregister(conn)
        watcher.cancel()
        conn.close(CLIENT_LEFT)  # no-op once closed; the watcher may be cancelled before it ever ran


class EventStreamResponse(Response):
    """An SSE response for a connection made elsewhere (a route that authenticates its own way)."""

    def __init__(self, hub: Hub, conn: Connection, resume_after: int | None) -> None:
        super().__init__(status_code=200)
        self.hub = hub
        self.conn = conn
        self.resume_after = resume_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve_sse(self.hub, self.conn, self.resume_after, receive, send)


async def _write_sse(conn: Connection, send: Send, body: bytes) -> None:
    """One chunk; only a write that waits for the client can be cancelled by a backlog overflow.
    (A function, not a closure: a closure would be kept for every open stream.)"""
    conn.writer = asyncio.current_task()
    try:
        await send({"type": "http.response.body", "body": body, "more_body": True})
    finally:
        conn.writer = None


async def _until_disconnect(receive: Receive, conn: Connection) -> None:
    """Closes the connection when the client leaves (or when the stream ends and cancels this)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:
        conn.close(CLIENT_LEFT)


async def open_websocket(container: Container, scope: Scope, receive: Receive,
                         send: Send) -> OpenedStream | None:
    """The handshake: checks, accept, the connection registered; None when refused."""
    request = _Request(scope)
    if (await receive())["type"] != "websocket.connect":
        return None
    try:
        viewer = await authenticate(container, request.token(websocket=True))
        initial = None
        if request.params.get("stream"):
            initial = parse_stream(request.params.get("stream"), request.params)
            await check_allowed(container, viewer, initial)
        hub = await get_hub(container)
    except StarlingError as exc:
        await _deny(scope, send, exc)
        return None
    accept: Message = {"type": "websocket.accept"}
    if request.protocol:
        accept["subprotocol"] = request.protocol
    await send(accept)
    conn = _new_connection(hub, viewer, "ws")
    if initial is not None:
        await hub.subscribe(conn, initial)
    resume = request.resume()
    conn.after = resume or 0
    up_to = await hub.register(conn)
    return OpenedStream(hub, conn, resume, up_to, viewer)


async def serve_websocket(container: Container, hub: Hub, conn: Connection, viewer: Principal | None,
                          resume: int | None, up_to: int, receive: Receive, send: Send) -> None:
    reader = asyncio.ensure_future(_read_messages(container, receive, hub, conn, viewer))
    del viewer
    try:
        if resume is not None:
            async for frame in hub.replay(conn, resume, up_to):
                await _write_ws(conn, send, frame.ws())
        while True:
            frame_or_none = await conn.next()
            if frame_or_none is None:
                break
            await _write_ws(conn, send, frame_or_none.ws())
        if conn.close_reason != CLIENT_LEFT:
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": conn.close_code,
                            "reason": (conn.close_reason or "")[:120]})
    except OSError:
        pass
    except asyncio.CancelledError:
        if not _cancelled_for_backlog(conn):
            raise
    except Exception as exc:  # the client went away while we wrote (uvicorn raises ClientDisconnected)
        if type(exc).__name__ != "ClientDisconnected":
            raise
    finally:
        hub.unregister(conn)
        reader.cancel()


async def _write_ws(conn: Connection, send: Send, text: str) -> None:
    """One message (as :func:`_write_sse`: cancellable by a backlog overflow, and no closure kept)."""
    conn.writer = asyncio.current_task()
    try:
        await send({"type": "websocket.send", "text": text})
    finally:
        conn.writer = None


async def _deny(scope: Scope, send: Send, exc: StarlingError) -> None:
    """Refuse the handshake with Mastodon's error body where the server can send one, else close."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = _error_body(exc)
        await send({"type": "websocket.http.response.start", "status": exc.status_code, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": CLOSE_POLICY})


async def _read_messages(container: Container, receive: Receive, hub: Hub, conn: Connection,
                         viewer: Principal | None) -> None:
    """Subscribe and unsubscribe as the client asks; a refused subscription is answered with an error
    message and the connection stays open (as Mastodon)."""
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                continue
            try:
                request = orjson.loads(text)
                if not isinstance(request, dict):
                    raise ValueError
            except ValueError:
                conn.offer(_error_frame("Malformed JSON", 400))
                continue
            kind = request.get("type")
            if kind not in ("subscribe", "unsubscribe"):
                conn.offer(_error_frame("Unknown message type", 400))
                continue
            try:
                spec = parse_stream(request.get("stream"), request)
                if kind == "subscribe":
                    await check_allowed(container, viewer, spec)
                    await hub.subscribe(conn, spec)
                else:
                    hub.unsubscribe(conn, spec)
            except StarlingError as exc:
                conn.offer(_error_frame(exc.message, exc.status_code))
    finally:
        conn.close(CLIENT_LEFT)
