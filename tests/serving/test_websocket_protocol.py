"""The worker's WebSocket protocol: uvicorn's websockets sans-I/O protocol that lets the handshake go once
answered and keeps a small mailbox and flag instead of an asyncio.Queue and Event; it behaves the same."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
import uvicorn
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from starling.serving import worker
from starling.serving.websocket_protocol import Flag, LeanWebSocketProtocol, Mailbox
from tests.support.uvicorn_server import running


class App:
    """Echoes text; ``close`` makes it close with 4001; ``/refuse`` answers 401 with a JSON body, ``/deny``
    closes before accepting. Remembers what it saw."""

    def __init__(self) -> None:
        self.headers: list[list[tuple[bytes, bytes]]] = []
        self.disconnects: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "websocket"
        self.headers.append(list(scope["headers"]))
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/refuse":
            body = b'{"error":"nope"}'
            await send({"type": "websocket.http.response.start", "status": 401, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        if scope["path"] == "/deny":
            await send({"type": "websocket.close", "code": 1008})
            return
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if scope["subprotocols"]:
            accept["subprotocol"] = scope["subprotocols"][0]
        await send(accept)
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                self.disconnects.append(message)
                return
            if message.get("text") == "close":
                await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                continue
            await send({"type": "websocket.send", "text": "echo " + message["text"]})


def _server(app: App, **options: Any) -> contextlib.AbstractAsyncContextManager[tuple[uvicorn.Server, int]]:
    return running(app, ws=LeanWebSocketProtocol, **options)


def _protocols(server: uvicorn.Server) -> list[LeanWebSocketProtocol]:
    return [c for c in server.server_state.connections if isinstance(c, LeanWebSocketProtocol)]


async def test_the_worker_serves_websockets_with_this_protocol() -> None:
    assert worker._ws_protocol() is LeanWebSocketProtocol


async def test_messages_subprotocol_and_the_handshake_let_go() -> None:
    app = App()
    async with _server(app) as (server, port), websockets.connect(
        f"ws://127.0.0.1:{port}/echo", subprotocols=["tok"],  # type: ignore[list-item]
        additional_headers={"X-Custom": "kept for the app"},
    ) as ws:
        assert ws.subprotocol == "tok"
        await ws.send("one")
        await ws.send("two")
        assert await ws.recv() == "echo one"
        assert await ws.recv() == "echo two"
        (protocol,) = _protocols(server)
        assert isinstance(protocol.queue, Mailbox) and isinstance(protocol.writable, Flag)
        assert protocol.request is None and protocol.response is None
        assert (b"x-custom", b"kept for the app") in app.headers[0]
        assert protocol.scope["headers"] == app.headers[0]  # the scope keeps its own copy


async def test_close_codes_both_ways() -> None:
    app = App()
    async with _server(app) as (_, port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo") as ws:
            await ws.send("close")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "bye")
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo") as ws:
            await ws.send("x")
            assert await ws.recv() == "echo x"
            await ws.close(4002, "leaving")
        for _ in range(200):
            if len(app.disconnects) == 2:
                break
            await asyncio.sleep(0.01)
        assert app.disconnects[-1]["code"] == 4002 and app.disconnects[-1]["reason"] == "leaving"


async def test_pings_both_ways() -> None:
    app = App()
    async with _server(app, ws_ping_interval=0.05, ws_ping_timeout=5) as (server, port):
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo", ping_interval=None) as ws:
            latency = await asyncio.wait_for(await ws.ping(), 10)  # the server answers our ping
            assert latency >= 0
            (protocol,) = _protocols(server)
            for _ in range(500):  # the server pings, and sees our (automatic) pong
                if protocol.last_ping_rtt > 0:
                    break
                await asyncio.sleep(0.01)
            assert protocol.last_ping_rtt > 0
            await ws.send("still")
            assert await ws.recv() == "echo still"


async def test_refusals_with_a_body_and_without() -> None:
    app = App()
    async with _server(app) as (_, port):
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(f"ws://127.0.0.1:{port}/refuse"):
                pass
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body or b"") == {"error": "nope"}
        with pytest.raises(InvalidStatus) as denied:
            async with websockets.connect(f"ws://127.0.0.1:{port}/deny"):
                pass
        assert denied.value.response.status_code == 403


async def test_mailbox_is_a_fifo_whose_getter_waits() -> None:
    box: Mailbox[int] = Mailbox()
    assert box.empty()
    box.put_nowait(1)
    box.put_nowait(2)
    assert await box.get() == 1 and await box.get() == 2 and box.empty()
    getter = asyncio.ensure_future(box.get())
    await asyncio.sleep(0)
    assert not getter.done()
    box.put_nowait(3)
    assert await getter == 3


async def test_a_cancelled_getter_loses_no_item() -> None:
    box: Mailbox[int] = Mailbox()
    first = asyncio.ensure_future(box.get())
    second = asyncio.ensure_future(box.get())
    await asyncio.sleep(0)
    box.put_nowait(7)
    first.cancel()  # woken for the item, but cancelled before it could take it
    await asyncio.sleep(0)
    assert await asyncio.wait_for(second, 5) == 7
    with pytest.raises(asyncio.CancelledError):
        await first
    assert box.empty()


async def test_flag_set_clear_and_wait() -> None:
    flag = Flag()
    assert not flag.is_set()
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await waiter is True
    assert flag.is_set() and await flag.wait() is True
    flag.clear()
    assert not flag.is_set()
    cancelled = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    flag.set()
    assert flag.is_set()
