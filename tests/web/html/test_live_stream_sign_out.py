"""Signing out closes the live streams that sign-in opened (the pages' session-cookie SSE), and only
those: another browser of the same person keeps its stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models.streaming import StreamEvent
from starling.streaming.connection import Connection
from starling.streaming.hub import Hub
from starling.web.app import create_app
from starling.web.mastodon.streaming import get_hub, stop_streaming
from tests.conftest import BASE_URL, MakeActor
from tests.web.html.pages import PASSWORD, form_posting_to, sign_in

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def hub(container: Container) -> AsyncIterator[Hub]:
    yield await get_hub(container)
    await stop_streaming(container)


class OpenStream:
    """One page's stream, run on the app as a server would, until its connection closes."""

    def __init__(self, app: Any, hub: Hub, cookies: httpx.Cookies, path: str) -> None:
        self.hub = hub
        self.messages: list[dict[str, Any]] = []
        self._left = asyncio.Event()
        cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode()), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
        }
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        await self._left.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def connection(self, known: set[Connection]) -> Connection:
        while True:
            fresh = self.hub.connections - known
            if fresh:
                assert len(fresh) == 1
                return fresh.pop()
            assert not self.task.done(), self.messages
            await asyncio.sleep(0.01)

    async def leave(self) -> None:
        self._left.set()
        await self.task


async def browser_signed_in(app: Any, username: str) -> httpx.AsyncClient:
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
    r = await sign_in(c, (await c.get("/auth/sign_in")).text, username, PASSWORD)
    assert r.status_code == 303, r.text
    return c


async def test_signing_out_closes_that_sign_ins_streams(
    container: Container, make_actor: MakeActor, hub: Hub
) -> None:
    await make_actor("reader")
    app = create_app(container=container)
    leaving = await browser_signed_in(app, "reader")
    staying = await browser_signed_in(app, "reader")  # the same person in another browser
    try:
        home = OpenStream(app, hub, leaving.cookies, "/api/v1/streaming/web/user")
        mine = await home.connection(set())
        public = OpenStream(app, hub, leaving.cookies, "/api/v1/streaming/web/public/local")
        mine_public = await public.connection({mine})
        other = OpenStream(app, hub, staying.cookies, "/api/v1/streaming/web/user")
        theirs = await other.connection({mine, mine_public})
        assert mine.token_id is not None and mine.token_id < 0  # never an access token's id
        assert mine.token_id == mine_public.token_id != theirs.token_id

        page = await leaving.get("/about")
        out = form_posting_to(page.text, "/auth/sign_out")
        r = await leaving.post("/auth/sign_out", data=out.fields)
        assert r.status_code == 303
        await hub.pump()

        assert mine.closed and mine_public.closed
        assert not theirs.closed
        await home.task  # the responses end by themselves
        await public.task
        assert home.messages[0]["status"] == 200
        assert home.messages[-1].get("more_body") is not True
        assert not other.task.done()
        # Opening the home stream again with the signed-out cookie is refused.
        again = await leaving.get("/api/v1/streaming/web/user")
        assert again.status_code == 401
    finally:
        await other.leave()
        for c in (leaving, staying):
            await c.aclose()


async def test_signing_out_without_a_sign_in_writes_nothing(container: Container) -> None:
    app = create_app(container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        page = await c.get("/auth/sign_in")
        token = form_posting_to(page.text, "/auth/sign_in").fields["csrf_token"]
        r = await c.post("/auth/sign_out", data={"csrf_token": token})
        assert r.status_code == 303
    async with unit_of_work(container.sessions) as session:
        revoked = await session.scalar(select(func.count()).where(StreamEvent.kind == "_revoke"))
    assert revoked == 0
