"""Mastodon API: the streaming API, over server-sent events and over one multiplexed WebSocket.

``GET /api/v1/streaming/<stream>`` answers ``text/event-stream``: ``id:``, ``event:`` and ``data:`` lines
(the payload a JSON string, as Mastodon sends it) and ``:thump`` heartbeats. ``/api/v1/streaming`` as a
WebSocket takes ``stream=`` on connect and ``{"type": "subscribe" | "unsubscribe", "stream": ...}``
messages, and sends ``{"stream": [...], "event": ..., "payload": ..., "id": ...}``. A client that
reconnects with ``Last-Event-ID`` (or ``?since=``) first receives what it missed (docs/STREAMING.md).

The endpoints are a plain ASGI layer (:class:`StreamingMiddleware`, inside admission, rate limits and
observation) rather than routes: a connection stays open for hours, and every frame the routing
machinery keeps alive for it is memory held per idle client.
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


# -- the ASGI layer -------------------------------------------------------------------------------

class StreamingMiddleware:
    """Answers every request under ``/api/v1/streaming``; passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (scope["type"] not in ("http", "websocket") or not (path == PREFIX or path.startswith(PREFIX + "/"))
                or path.startswith(ROUTED_PREFIX)):
            await self.app(scope, receive, send)
            return
        container: Container = scope["app"].state.container
        if scope["type"] == "websocket":
            await websocket_stream(container, scope, receive, send)
            return
        # The checks' frame ends before the stream starts: only serve_sse's frame stays for hours.
        opened = await sse_stream(container, scope, receive, send)
        if opened is not None:
            hub, conn, resume = opened
            del opened
            await serve_sse(hub, conn, resume, receive, send)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


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


async def serve_sse(hub: Hub, conn: Connection, resume: int | None, receive: Receive, send: Send) -> None:
    conn.after = resume or 0
    up_to = await hub.register(conn)
    watcher = asyncio.ensure_future(_until_disconnect(receive, conn))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
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


async def websocket_stream(container: Container, scope: Scope, receive: Receive, send: Send) -> None:
    request = _Request(scope)
    if (await receive())["type"] != "websocket.connect":
        return
    try:
        viewer = await authenticate(container, request.token(websocket=True))
        initial = None
        if request.params.get("stream"):
            initial = parse_stream(request.params.get("stream"), request.params)
            await check_allowed(container, viewer, initial)
        hub = await get_hub(container)
    except StarlingError as exc:
        await _deny(scope, send, exc)
        return
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
    reader = asyncio.ensure_future(_read_messages(container, receive, hub, conn, viewer))
    del viewer, request, initial
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
