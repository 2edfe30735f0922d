"""Resuming across workers: the hand-off between what a client already saw, the events replayed from the
log and the live ones, with two hubs on one database standing for two workers whose hubs read the log
at different moments (as during a rolling reload, where the poll backend of SQLite lets one hub run a
poll interval behind the other). The hubs are driven by hand (``pump``), so every interleaving is fixed.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.streaming import store
from starling.streaming.audience import StreamSpec
from starling.streaming.backends import Backend
from starling.streaming.connection import Connection
from starling.streaming.emit import emit
from starling.streaming.hub import Hub
from starling.web.mastodon.streaming import get_hub, serve_sse, stop_streaming
from starling.web.mastodon.streaming_render import make_renderer
from tests.conftest import MakeActor


class SSEClient:
    """The ASGI side of one SSE response: keeps every byte written and disconnects when told."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.left = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def ids(self) -> list[int]:
        return [int(m) for m in re.findall(rb"^id: (\d+)$", bytes(self.body), flags=re.MULTILINE)]


class Stream:
    """One SSE response of the public stream served by ``hub`` (``serve_sse``, as the endpoint does)."""

    def __init__(self, hub: Hub, resume: int | None) -> None:
        self.hub = hub
        self.client = SSEClient()
        self.conn: Connection = hub.new_connection(account_id=None, token_id=None, scopes=frozenset(),
                                                   transport="sse")
        self.resume = resume
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> Stream:
        await self.hub.subscribe(self.conn, StreamSpec("public"))
        self.task = asyncio.create_task(serve_sse(self.hub, self.conn, self.resume, self.client.receive,
                                                  self.client.send))  # type: ignore[arg-type]
        await self.settle()
        return self

    async def settle(self) -> None:
        """Let the response write everything it has: until it waits for the hub with an empty mailbox."""
        while self.conn.items or self.conn.waiter is None:
            assert self.task is not None and not self.task.done(), "the stream ended early"
            await asyncio.sleep(0)

    async def close(self) -> list[int]:
        self.client.left.set()
        assert self.task is not None
        await self.task
        return self.client.ids()


def _hub(container: Container) -> Hub:
    return Hub(container.settings, container.sessions, make_renderer(container.settings),
               backend=Backend(container.settings))


async def _hubs(container: Container, n: int) -> list[Hub]:
    """``n`` hubs positioned at the end of the log, as after their start (their reader tasks are not run)."""
    async with container.sessions() as session:
        cursor = await store.last_event_id(session)
    hubs = [_hub(container) for _ in range(n)]
    for hub in hubs:
        hub.cursor = cursor
    return hubs


async def _post(client: httpx.AsyncClient, headers: dict[str, str], text: str, container: Container) -> int:
    """Posts a public status; returns the id of its ``update`` event."""
    response = await client.post("/api/v1/statuses", headers=headers, json={"status": text})
    assert response.status_code == 200, response.text
    async with container.sessions() as session:
        return await store.last_event_id(session)


async def test_resuming_on_a_worker_whose_hub_is_behind_sends_no_event_twice(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """The client saw event E from the worker that committed it (its hub woke at once); it resumes from E
    on a worker whose hub has not read E yet. That hub's replay stops at its own position (before E),
    and E reaches it later through the log: it must not go to the client a second time."""
    author = await make_actor("handoff1")
    ahead, behind = await _hubs(container, 2)

    first = await Stream(ahead, None).open()
    e1 = await _post(client, author.headers, "one", container)
    await ahead.pump()
    await first.settle()
    seen_first = await first.close()  # the worker drains; the client resumes from what it saw
    assert seen_first == [e1]

    assert behind.cursor < e1
    second = await Stream(behind, resume=seen_first[-1]).open()
    e2 = await _post(client, author.headers, "two", container)
    await behind.pump()  # reads e1 (already seen) and e2
    await second.settle()
    seen_second = await second.close()

    assert seen_second == [e2]
    assert seen_first + seen_second == [e1, e2]


async def test_resuming_on_a_worker_whose_hub_is_ahead_replays_then_goes_live_without_overlap(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """The other order: the new worker's hub has read events the client missed. They come from the
    replay, in order; what is committed afterwards comes live; nothing twice, nothing missing."""
    author = await make_actor("handoff2")
    slow, fast = await _hubs(container, 2)

    first = await Stream(slow, None).open()
    e1 = await _post(client, author.headers, "one", container)
    await slow.pump()
    await first.settle()
    e2 = await _post(client, author.headers, "two", container)
    e3 = await _post(client, author.headers, "three", container)
    await fast.pump()  # the other worker is at e3; this one drains before it reads e2
    seen_first = await first.close()
    assert seen_first == [e1]

    second = await Stream(fast, resume=e1).open()
    assert second.client.ids() == [e2, e3]  # replayed
    e4 = await _post(client, author.headers, "four", container)
    await fast.pump()
    await second.settle()
    assert await second.close() == [e2, e3, e4]


async def test_a_connection_registering_while_the_hub_delivers_a_batch_gets_each_event_once(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """The hub reads a batch, then waits (rendering) while a client resumes: the client's replay ends at
    the hub's position and the batch reaches it live, so each event arrives exactly once."""
    author = await make_actor("handoff3")
    (hub,) = await _hubs(container, 1)
    e1 = await _post(client, author.headers, "one", container)
    e2 = await _post(client, author.headers, "two", container)

    resumed: list[Stream] = []
    render = hub.renderer

    async def render_while_a_client_resumes(session: Any, events: Any) -> Any:
        if not resumed:
            resumed.append(await Stream(hub, resume=e1 - 1).open())
        return await render(session, events)

    hub.renderer = render_while_a_client_resumes
    watching = await Stream(hub, None).open()  # so the hub renders the batch it reads
    await hub.pump()
    await resumed[0].settle()
    await watching.settle()
    assert await resumed[0].close() == [e1, e2]
    assert await watching.close() == [e1, e2]


async def test_an_event_read_again_after_a_failure_reaches_no_connection_twice(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """Judging one connection fails for an event (the hub logs it and reads the event again later): the
    connections judged before it must not get the event a second time when it is read again."""
    author = await make_actor("handoff4")
    (hub,) = await _hubs(container, 1)
    first, second = await Stream(hub, None).open(), await Stream(hub, None).open()
    e1 = await _post(client, author.headers, "one", container)

    judge = hub.frames_for
    calls: list[Connection] = []

    def failing_once(conn: Connection, *args: Any, **kwargs: Any) -> Any:
        calls.append(conn)
        if len(calls) == 2:  # the second connection judged, after the first one was
            raise RuntimeError("judging this connection failed")
        return judge(conn, *args, **kwargs)

    hub.frames_for = failing_once  # type: ignore[method-assign]
    try:
        await hub.pump()
    except RuntimeError:
        pass
    assert hub.cursor < e1  # not delivered: read again
    await hub.pump()
    await first.settle()
    await second.settle()
    assert await first.close() == [e1]
    assert await second.close() == [e1]


async def test_a_hub_is_handed_out_only_once_it_knows_where_the_log_ends(container: Container) -> None:
    """Two streams open at once on a worker whose hub is not started yet: neither may get the hub while
    its position is still 0 (its replay would end there, and the events after its id would be lost)."""
    async with unit_of_work(container.sessions) as session:
        emit(session, "_graph", audience={"accounts": []})
    async with container.sessions() as session:
        end = await store.last_event_id(session)
    assert end > 0

    async def position() -> int:
        return (await get_hub(container)).cursor

    try:
        assert list(await asyncio.gather(position(), position())) == [end, end]
    finally:
        await stop_streaming(container)
