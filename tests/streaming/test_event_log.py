"""The event log and the hub in one process: events are durable with their change (and only then), one
per status however many followers, pruned after the retention window; the hub judges each event per
connection, reloads relationships when they change, closes revoked streams and drops a slow client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.jobs.stream_jobs import run_prune_stream_events
from starling.models import StreamEvent
from starling.models.base import utcnow
from starling.streaming.audience import StreamSpec
from starling.streaming.backends import Backend
from starling.streaming.connection import CLOSE_BACKLOG, HEARTBEAT, Frame
from starling.streaming.emit import emit
from starling.streaming.hub import Hub
from starling.web.mastodon.streaming_render import make_renderer
from tests.conftest import MakeActor


async def _events(container: Container, kind: str | None = None) -> list[StreamEvent]:
    async with container.sessions() as session:
        stmt = select(StreamEvent).order_by(StreamEvent.id)
        if kind:
            stmt = stmt.where(StreamEvent.kind == kind)
        return list((await session.execute(stmt)).scalars())


async def test_a_post_writes_one_event_however_many_followers(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    author = await make_actor("loud")
    for i in range(25):
        fan = await make_actor(f"fan{i}")
        assert (await client.post(f"/api/v1/accounts/{author.id}/follow", headers=fan.headers)).status_code == 200
    response = await client.post("/api/v1/statuses", headers=author.headers, json={"status": "hello #flock"})
    assert response.status_code == 200
    updates = await _events(container, "update")
    assert len(updates) == 1
    assert updates[0].object_id == int(response.json()["id"])
    assert updates[0].audience["tags"] == ["flock"] and updates[0].visibility == "public"
    graph_events = await _events(container, "_graph")
    assert len(graph_events) == 25


async def test_a_refused_write_leaves_no_event(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    author = await make_actor("quiet")
    response = await client.post("/api/v1/statuses", headers=author.headers, json={"status": ""})
    assert response.status_code == 422
    assert await _events(container, "update") == []
    try:
        async with unit_of_work(container.sessions) as session:
            emit(session, "update", account_id=1, object_id=2, visibility="public")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await _events(container) == []


async def test_the_event_lock_is_taken_after_the_change_is_written(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """On PostgreSQL every event-writing commit queues on one advisory lock (ids in commit order): it must
    cover only the events, the notification and the commit, not the writing of the post itself, or every
    poster would wait for the others' writes. One statement takes the lock, queues the notification and
    writes the events, and the next thing on its connection is the commit: under load each further round
    trip inside the lock also waits for the process to get the CPU back. SQLite takes no such lock."""
    author = await make_actor("locker")
    seen: list[tuple[object, str]] = []  # (connection, statement), and "COMMIT" when one commits

    def before(conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append((conn, " ".join(statement.split())))

    def commit(conn: object) -> None:
        seen.append((conn, "COMMIT"))

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "commit", commit)
    try:
        response = await client.post("/api/v1/statuses", headers=author.headers, json={"status": "ordered #lock"})
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "commit", commit)
    assert response.status_code == 200
    locks = [i for i, (_, sql) in enumerate(seen) if "pg_advisory_xact_lock" in sql]
    if container.engine.dialect.name != "postgresql":
        assert locks == []
        return
    assert len(locks) == 1
    conn, locking = seen[locks[0]]
    assert "INSERT INTO stream_events " in locking and "pg_notify" in locking
    mine = [sql for c, sql in seen if c is conn]  # the post's transaction ran on this connection
    at = mine.index(locking)
    assert mine[at + 1] == "COMMIT", mine[at + 1:]
    before_lock = mine[:at]
    assert any(sql.startswith("INSERT INTO statuses ") for sql in before_lock)
    assert any(sql.startswith("INSERT INTO status_tags ") for sql in before_lock)
    assert any(sql.startswith("INSERT INTO jobs ") for sql in before_lock)


async def test_events_with_no_account_object_or_visibility_are_written(container: Container) -> None:
    """Internal events carry NULLs in whole columns; PostgreSQL's one locking statement still writes them
    with the columns' types, several in one commit, in order."""
    async with unit_of_work(container.sessions) as session:
        emit(session, "_graph", audience={"accounts": [1]})
        emit(session, "_graph", audience={"accounts": [2]})
    rows = await _events(container)
    assert [(r.kind, r.account_id, r.object_id, r.visibility, r.audience) for r in rows] == [
        ("_graph", None, None, None, {"accounts": [1]}), ("_graph", None, None, None, {"accounts": [2]})]
    assert rows[0].id < rows[1].id


async def test_ids_grow_with_each_commit_and_prune_keeps_the_window(container: Container) -> None:
    for i in range(3):
        async with unit_of_work(container.sessions) as session:
            emit(session, "_graph", audience={"accounts": [i]})
    rows = await _events(container)
    assert [r.id for r in rows] == sorted(r.id for r in rows) and len(rows) == 3
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(StreamEvent).values(created_at=utcnow() - timedelta(hours=1)))
    async with unit_of_work(container.sessions) as session:
        await run_prune_stream_events(session, {"retention": 900})
    left = await _events(container)
    assert [r.id for r in left] == [rows[-1].id]  # the newest stays, so ids keep growing
    async with unit_of_work(container.sessions) as session:
        emit(session, "_graph", audience={"accounts": [9]})
    async with container.sessions() as session:
        assert (await session.scalar(select(func.max(StreamEvent.id)))) > rows[-1].id


def _hub(container: Container) -> Hub:
    return Hub(container.settings, container.sessions, make_renderer(container.settings), backend=Backend(
        container.settings))


async def test_hub_filters_per_connection_and_follows_graph_changes(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    author, fan, stranger = await make_actor("hauthor"), await make_actor("hfan"), await make_actor("hstranger")
    hub = _hub(container)
    await hub.start()
    try:
        conns = {}
        for actor in (fan, stranger):
            conn = hub.new_connection(account_id=int(actor.id), token_id=None, scopes=frozenset({"read"}),
                                      transport="ws")
            await hub.subscribe(conn, StreamSpec("user"))
            await hub.register(conn)
            conns[actor.username] = conn
        await client.post(f"/api/v1/accounts/{author.id}/follow", headers=fan.headers)
        secret = (await client.post("/api/v1/statuses", headers=author.headers,
                                    json={"status": "followers", "visibility": "private"})).json()
        await hub.pump()
        fan_frames = conns["hfan"].drain_ready()
        assert [(f.event, f.stream) for f in fan_frames] == [("update", ("user",))]
        assert secret["id"] in fan_frames[0].payload
        assert conns["hstranger"].drain_ready() == []
        await client.post(f"/api/v1/accounts/{author.id}/unfollow", headers=fan.headers)
        await client.post("/api/v1/statuses", headers=author.headers, json={"status": "again",
                                                                              "visibility": "private"})
        await hub.pump()
        assert conns["hfan"].drain_ready() == []
    finally:
        await hub.stop()


async def test_two_pumps_at_once_deliver_each_event_once(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    """The reader task and a direct call may pump together: each event still reaches a stream once."""
    author, fan = await make_actor("pauthor"), await make_actor("pfan")
    await client.post(f"/api/v1/accounts/{author.id}/follow", headers=fan.headers)
    hub = _hub(container)  # not started: nothing pumps but the three calls below
    conn = hub.new_connection(account_id=int(fan.id), token_id=None, scopes=frozenset({"read"}), transport="ws")
    await hub.subscribe(conn, StreamSpec("user"))
    await hub.register(conn)
    posted = [(await client.post("/api/v1/statuses", headers=author.headers, json={"status": f"p{i}"})).json()
              for i in range(3)]
    await asyncio.gather(hub.pump(), hub.pump(), hub.pump())
    frames = conn.drain_ready()
    assert [f.event_id for f in frames] == sorted({f.event_id for f in frames})
    assert [p["id"] in f.payload for p, f in zip(posted, frames, strict=True)] == [True, True, True]


async def test_a_slow_connection_is_dropped_without_touching_others(container: Container) -> None:
    hub = _hub(container)
    slow = hub.new_connection(account_id=None, token_id=None, scopes=frozenset(), transport="sse")
    fast = hub.new_connection(account_id=None, token_id=None, scopes=frozenset(), transport="sse")
    slow.limit = 3
    for i in range(5):
        frame = Frame(i + 1, "update", "{}", ("public",))
        slow.offer(frame)
        fast.offer(frame)
        assert await fast.next() == frame
    assert slow.closed and slow.close_code == CLOSE_BACKLOG and "too slow" in (slow.close_reason or "")
    assert await slow.next() is None
    fast.offer(HEARTBEAT)
    assert await fast.next() is HEARTBEAT


async def test_revoking_a_token_or_suspending_an_account_closes_its_streams(container: Container) -> None:
    from starling.streaming.emit import account_suspended, token_revoked

    hub = _hub(container)
    await hub.start()
    try:
        by_token = hub.new_connection(account_id=None, token_id=41, scopes=frozenset({"read"}), transport="sse")
        by_account = hub.new_connection(account_id=None, token_id=42, scopes=frozenset({"read"}), transport="ws")
        other = hub.new_connection(account_id=None, token_id=43, scopes=frozenset({"read"}), transport="sse")
        for conn in (by_token, by_account, other):
            await hub.subscribe(conn, StreamSpec("public"))
            await hub.register(conn)
        by_account.account_id = 7  # as a signed-in connection of account 7 (no graph needed for this)
        async with unit_of_work(container.sessions) as session:
            token_revoked(session, 41)
            account_suspended(session, 7)
        await hub.pump()
        assert by_token.closed and "revoked" in (by_token.close_reason or "")
        assert by_account.closed and "disabled" in (by_account.close_reason or "")
        assert not other.closed
    finally:
        await hub.stop()


async def test_a_resumed_connection_never_gets_an_event_it_already_saw(container: Container) -> None:
    """A client that resumes from id N on a worker whose hub is behind the one it came from."""
    hub = _hub(container)
    conn = hub.new_connection(account_id=None, token_id=None, scopes=frozenset(), transport="sse")
    conn.after = 5
    for event_id in (4, 5, 6):
        conn.offer(Frame(event_id, "update", "{}", ("public",)))
    conn.offer(HEARTBEAT)
    assert [f.event_id for f in conn.drain_ready()] == [6, 0]
