"""A draining worker answers the next request on an idle keep-alive connection, then closes it."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from starling.serving.protocol import DrainingHttpToolsProtocol
from tests.support.uvicorn_server import running


async def _app(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


def _server() -> contextlib.AbstractAsyncContextManager[tuple[uvicorn.Server, int]]:
    return running(_app, http=DrainingHttpToolsProtocol)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(2)
    return head.lower()


async def test_idle_keep_alive_connection_gets_one_more_answer_with_close() -> None:
    async with _server() as (server, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        first = await _request(reader, writer)
        assert b"200 ok" in first and b"connection: close" not in first
        shutdown = asyncio.ensure_future(server.shutdown())  # the worker starts draining
        await asyncio.sleep(0.2)
        assert not shutdown.done()  # it waits for the idle connection instead of cutting it
        second = await _request(reader, writer)
        assert b"200 ok" in second and b"connection: close" in second
        assert await reader.read() == b""  # then the server closes it
        writer.close()
        await asyncio.wait_for(shutdown, 5)
        server.started = False


async def test_only_the_first_request_of_a_vetted_connection_is_marked_vetted() -> None:
    from starling.web.middleware.admission import ARRIVED_KEY, VETTED_KEY

    seen: list[dict[str, object]] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append({"vetted": scope.get(VETTED_KEY), "arrived": scope.get(ARRIVED_KEY)})
        await _app(scope, receive, send)

    config = uvicorn.Config(app, http=DrainingHttpToolsProtocol, lifespan="off", log_level="warning")
    config.load()
    server = uvicorn.Server(config)
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    client = socket.create_connection(listening.getsockname())
    conn, _ = listening.accept()
    conn.setblocking(False)

    def make() -> DrainingHttpToolsProtocol:
        protocol = DrainingHttpToolsProtocol(config=config, server_state=server.server_state, app_state={})
        protocol.adopt(123.0, True)  # as the accepting thread hands it over: accepted at 123, vetted
        return protocol

    loop = asyncio.get_running_loop()
    await loop.connect_accepted_socket(make, conn)
    client.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=client)
    try:
        assert b"200 ok" in await _request(reader, writer)
        assert b"200 ok" in await _request(reader, writer)
    finally:
        writer.close()
        listening.close()
    assert seen[0] == {"vetted": True, "arrived": 123.0}
    assert seen[1]["vetted"] is None  # a later request on the connection was not judged by the door
    assert isinstance(seen[1]["arrived"], float) and seen[1]["arrived"] != 123.0
