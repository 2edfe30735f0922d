"""Requests that write run on the write lane, take the write lock only for their transaction, and
answer as they would anywhere else; reads stay on the connection's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.types import Message

from starling.bootstrap import Container, build_container
from starling.config import Settings
from starling.web.app import create_app
from tests.conftest import BASE_URL, MakeActor
from tests.support.statements import Laned, open_laned
from tests.web.middleware.asgi import Answer, http_scope


@pytest.fixture
async def laned(container: Container, settings: Settings) -> AsyncIterator[Laned]:
    async for value in open_laned(settings):
        yield value


async def test_a_post_is_written_on_the_lane_and_read_back_on_the_event_loop(
    laned: Laned, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    r = await laned.client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hello lane"})
    assert r.status_code == 200, r.text
    assert "hello lane" in r.json()["content"]
    assert laned.lane_sql.threads_of("INSERT INTO statuses") == {laned.lane_thread}
    assert not laned.main_sql.threads_of("INSERT INTO statuses")

    laned.lane_sql.clear()
    r = await laned.client.get(f"/api/v1/statuses/{r.json()['id']}", headers=ann.headers)
    assert r.status_code == 200 and "hello lane" in r.json()["content"]
    assert laned.lane_sql.seen == []
    assert laned.main_sql.threads_of("SELECT") == {threading.get_ident()}


async def test_the_write_transaction_begins_after_authentication(laned: Laned, make_actor: MakeActor) -> None:
    ann = await make_actor("ann")
    r = await laned.client.post("/api/v1/statuses", headers=ann.headers, json={"status": "in order"})
    assert r.status_code == 200, r.text
    sql = laned.lane_sql
    token = sql.index("SELECT oauth_tokens")
    insert = sql.index("INSERT INTO statuses", token)
    if laned.container.settings.is_sqlite:
        # A plain BEGIN for the token's read, ended before the write transaction takes the lock.
        assert sql.texts()[token - 1] == "BEGIN"
        commit = sql.index("COMMIT", token)
        begin = sql.index("BEGIN IMMEDIATE", token)
        assert token < commit < begin < insert
        assert "BEGIN IMMEDIATE" not in sql.texts()[:token]
        # After the commit, the answer is rendered by reads that take no write lock.
        last_commit = max(i for i, text in enumerate(sql.texts()) if text == "COMMIT")
        assert "BEGIN IMMEDIATE" not in sql.texts()[last_commit:]
    else:
        # PostgreSQL has no database-wide write lock: authentication and the write share a transaction.
        assert "COMMIT" not in sql.texts()[token:insert]


async def test_errors_inside_the_lane_keep_mastodons_shape(laned: Laned, make_actor: MakeActor) -> None:
    ann = await make_actor("ann")
    r = await laned.client.post("/api/v1/statuses", headers=ann.headers, json={"status": ""})
    assert r.status_code == 422
    assert r.json()["error"] == "Validation failed: Text can't be blank"
    r = await laned.client.post("/api/v1/statuses", json={"status": "no token"})
    assert r.status_code == 401 and "error" in r.json()
    assert not laned.lane_sql.threads_of("INSERT INTO statuses")


async def test_a_body_over_the_limit_is_handled_on_the_event_loop(
    container: Container, settings: Settings, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    async for laned in open_laned(settings, write_lane_body_limit=8):
        r = await laned.client.post("/api/v1/statuses", headers=ann.headers, json={"status": "a long body"})
        assert r.status_code == 200, r.text
        assert laned.main_sql.threads_of("INSERT INTO statuses") == {threading.get_ident()}
        assert not laned.lane_sql.threads_of("INSERT INTO statuses")


@pytest.mark.parametrize("lane", ["on", "off"])
async def test_a_request_waiting_for_its_body_holds_no_write_lock(
    container: Container, settings: Settings, make_actor: MakeActor, lane: str
) -> None:
    """A slow client (a phone on a bad connection) must not stop everyone else from posting."""
    ann = await make_actor("ann")
    bob = await make_actor("bob")
    body = orjson.dumps({"status": "sent slowly"})
    asked, arrived = asyncio.Event(), asyncio.Event()

    async def receive() -> Message:
        asked.set()
        await arrived.wait()
        return {"type": "http.request", "body": body, "more_body": False}

    answer = Answer()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    test_settings = settings.model_copy(update={"write_lane": lane})
    changed = build_container(test_settings)
    try:
        app = create_app(container=changed)
        scope = http_scope("/api/v1/statuses", "POST", token=ann.token,
                           headers={"content-type": "application/json", "content-length": str(len(body))})
        slow = asyncio.create_task(app(scope, receive, send))
        await asked.wait()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            r = await client.post("/api/v1/statuses", headers=bob.headers, json={"status": "not kept waiting"})
        assert r.status_code == 200, r.text
        assert not slow.done()
        arrived.set()
        await slow
        assert answer.status == 200, answer.body
        assert "sent slowly" in orjson.loads(answer.body)["content"]
    finally:
        await changed.close()
