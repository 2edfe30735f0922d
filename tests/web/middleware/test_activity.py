"""Request counting for the maintenance planner: counted in memory, stored on flush or shutdown."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select
from starlette.types import Message

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import ActivityHour
from starling.services.maintenance import sketch
from starling.web.app import create_app
from starling.web.middleware.activity import credentials, flush_activity, recorder_for
from tests.conftest import MakeActor
from tests.web.html.pages import sign_in

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _nothing_counted_yet(container: Container) -> None:
    """Requests of earlier tests were counted in the same process: forget them."""
    recorder_for(container).counter.drain()


async def _stored(container: Container) -> tuple[int, set[int]]:
    async with unit_of_work(container.sessions, write=False) as session:
        rows = list((await session.execute(select(ActivityHour))).scalars())
    return sum(r.requests for r in rows), {h for r in rows for h in r.account_sample}


async def test_requests_and_accounts_are_stored_on_flush(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    ann, bob = await make_actor("ann"), await make_actor("bob", password=PASSWORD)
    for _ in range(3):
        assert (await client.get("/api/v1/timelines/home", headers=ann.headers)).status_code == 200
    await client.get("/api/v1/timelines/public")
    await client.get("/api/v1/timelines/public", params={"access_token": ann.token})
    await client.get("/static/style.css")  # not counted
    page = await client.get("/auth/sign_in")
    assert (await sign_in(client, page.text, "bob", PASSWORD)).status_code == 303
    await client.get("/auth/sign_in")  # with bob's session cookie
    assert await _stored(container) == (0, set())

    await flush_activity(container)
    requests, sample = await _stored(container)
    assert requests == 8
    assert sample == {sketch.account_hash(int(ann.id)), sketch.account_hash(int(bob.id))}
    await flush_activity(container)
    assert (await _stored(container))[0] == 8  # nothing counted twice


async def test_a_failed_flush_keeps_the_counts(client: httpx.AsyncClient, container: Container) -> None:
    await client.get("/api/v1/instance")
    recorder = recorder_for(container)
    sessions = container.sessions

    def broken() -> None:
        raise ConnectionError("database restarting")

    container.sessions = broken  # type: ignore[assignment]
    try:
        await recorder._flush_logged()
    finally:
        container.sessions = sessions
    assert recorder.counter.pending_requests == 1
    await flush_activity(container)
    assert (await _stored(container))[0] == 1


async def test_shutdown_flushes(container: Container) -> None:
    app = create_app(container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        await c.get("/api/v1/instance")
    messages: asyncio.Queue[Message] = asyncio.Queue()
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        messages.put_nowait({"type": kind})
    sent: list[str] = []

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, messages.get, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert (await _stored(container))[0] == 1


async def test_the_server_flushes_every_interval(client: httpx.AsyncClient, container: Container) -> None:
    recorder = recorder_for(container)
    await client.get("/api/v1/instance")
    recorder.interval = 0.01
    recorder.start()
    try:
        for _ in range(500):
            if (await _stored(container))[0]:
                break
            await asyncio.sleep(0.01)
    finally:
        await recorder.close()
        recorder.interval = 60.0
    assert (await _stored(container))[0] == 1


def test_credentials_are_read_without_parsing_much() -> None:
    def scope(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, object]:
        return {"type": "http", "headers": headers, "query_string": query}

    assert credentials(scope([(b"authorization", b"Bearer abc")])) == ("abc", None)
    assert credentials(scope([(b"cookie", b"a=1; starling_session=xyz.mac; b=2")])) == (None, "xyz.mac")
    assert credentials(scope([(b"cookie", b"not_starling_session=1")])) == (None, None)
    assert credentials(scope([], b"limit=1&access_token=tok")) == ("tok", None)
    assert credentials(scope([(b"authorization", b"Basic x")])) == (None, None)
