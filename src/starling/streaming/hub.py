"""The hub of one process: reads the event log in order and hands each event to the connections that
may see it.

One reader task per process follows the log (woken by the backend, or by its poll interval); it renders
each event once (``renderer``, provided by the web layer) and offers it, already formatted, to every
connection whose subscription wants it (``audience.wants``). Offering never waits: each connection
writes from its own bounded mailbox. Relationship changes (``_graph`` events) reload the shared
per-account graphs in log order, so an event is always judged with the relationships of its moment;
``_revoke`` and ``_suspend`` close the streams of the token or account.

A client that resumes (``Last-Event-ID``) registers first, at the hub's current position P, then reads
what it missed — the events after its id up to P — from the table; everything after P reaches it
through the mailbox. No event is missed and none is sent twice. The hub of the worker a client resumes
on may be behind the one it came from (it has not read the client's last event yet): its replay is then
empty and the connection drops every event up to the client's id (``Connection.after``) when the log
brings them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from starling.config import Settings
from starling.domain.scopes import grants
from starling.models.base import utcnow
from starling.serving import lifecycle
from starling.streaming import store
from starling.streaming.audience import STATUS_KINDS, EventView, Graph, StreamSpec, event_name, wants
from starling.streaming.backends import Backend, make_backend
from starling.streaming.connection import CLOSE_POLICY, CLOSE_RESTART, HEARTBEAT, Connection, Frame

log = logging.getLogger("starling.streaming")

BATCH = 500
RENDER_CACHE = 4096
RENDERED_KINDS = frozenset({"update", "status.update", "notification"})
RESTART_REASON = "The server is restarting; reconnect to resume"


@dataclass
class Rendered:
    """An event rendered once for every connection: its payload (None: nothing to send, e.g. the status
    is gone or its author suspended); for a direct status, the conversation without its accounts."""

    payload: str | None
    conversation: dict[str, Any] | None = None
    participants: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


Renderer = Callable[[AsyncSession, list[EventView]], Awaitable[dict[int, Rendered]]]


class Hub:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], renderer: Renderer,
                 backend: Backend | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.renderer = renderer
        self.backend = backend or make_backend(settings)
        self.cursor = 0
        self.connections: set[Connection] = set()
        self.graphs: dict[int, Graph] = {}
        self._graph_users: dict[int, int] = {}
        self._graph_versions: dict[int, int] = {}
        self._rendered: OrderedDict[int, Rendered] = OrderedDict()
        self._wake = asyncio.Event()
        self._pumping = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._unregister_drain: Callable[[], None] | None = None
        self.started = False
        self.draining = False

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.started:
            return
        async with self.sessions() as session:
            cursor = await store.last_event_id(session)
        if self.started:
            return
        # Positioned before it counts as started: a connection that registers on a hub still at 0 would
        # take 0 as the end of its replay and miss what lies between its id and the end of the log.
        self.cursor = cursor
        self.started = True
        await self.backend.start(self.wake)
        self._tasks = [
            asyncio.create_task(self._follow_log(), name="starling-streaming-reader"),
            asyncio.create_task(self._heartbeats(), name="starling-streaming-heartbeat"),
        ]
        self._unregister_drain = lifecycle.on_drain(self.drain)

    async def stop(self) -> None:
        self.drain()
        if self._unregister_drain is not None:
            self._unregister_drain()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        await self.backend.stop()
        self.started = False

    def wake(self) -> None:
        self._wake.set()

    def drain(self) -> None:
        """Close every stream so its client reconnects to a worker that is not draining."""
        self.draining = True
        for conn in list(self.connections):
            conn.close(RESTART_REASON, CLOSE_RESTART)

    # -- connections ------------------------------------------------------------------------------

    def new_connection(self, *, account_id: int | None, token_id: int | None, scopes: frozenset[str],
                       transport: str) -> Connection:
        return Connection(account_id=account_id, token_id=token_id, scopes=scopes, transport=transport,
                          limit=self.settings.streaming_queue_size)

    async def register(self, conn: Connection) -> int:
        """Start delivering to ``conn``; returns the position after which live events reach it."""
        if conn.account_id is not None:
            await self._use_graph(conn.account_id, conn)
        if self.draining:
            conn.close(RESTART_REASON, CLOSE_RESTART)
        self.connections.add(conn)
        return self.cursor

    def unregister(self, conn: Connection) -> None:
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        account = conn.account_id
        if account is not None:
            left = self._graph_users.get(account, 1) - 1
            if left <= 0:
                self._graph_users.pop(account, None)
                self.graphs.pop(account, None)
            else:
                self._graph_users[account] = left

    async def subscribe(self, conn: Connection, spec: StreamSpec) -> None:
        conn.streams[spec] = None
        if spec.list_id is not None and conn.account_id is not None:
            graph = self.graphs.get(conn.account_id)
            if graph is None or spec.list_id not in graph.lists:
                await self._reload_graph(conn.account_id)

    def unsubscribe(self, conn: Connection, spec: StreamSpec) -> None:
        conn.streams.pop(spec, None)

    def _list_ids(self, account_id: int) -> set[int]:
        return {s.list_id for c in self.connections if c.account_id == account_id
                for s in c.streams if s.list_id is not None}

    async def _use_graph(self, account_id: int, conn: Connection) -> None:
        self._graph_users[account_id] = self._graph_users.get(account_id, 0) + 1
        if account_id not in self.graphs:
            await self._reload_graph(account_id, extra_lists={s.list_id for s in conn.streams if s.list_id})

    async def _reload_graph(self, account_id: int, extra_lists: set[int | None] | None = None) -> None:
        lists = self._list_ids(account_id) | {i for i in (extra_lists or set()) if i is not None}
        while True:
            version = self._graph_versions.get(account_id, 0)
            async with self.sessions() as session:
                graph = await store.load_graph(session, account_id, lists)
            if self._graph_versions.get(account_id, 0) == version:
                break  # no change of relationships was read while we loaded
        if account_id in self._graph_users:
            self.graphs[account_id] = graph

    # -- the log ----------------------------------------------------------------------------------

    async def _follow_log(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.backend.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.pump()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the streaming event log failed")
                await asyncio.sleep(0.5)

    async def pump(self) -> None:
        """Deliver every committed event after the cursor (also called by tests to deliver at once).

        One pump at a time: two reading from the same cursor would each deliver the same events."""
        async with self._pumping:
            while True:
                async with self.sessions() as session:
                    events = await store.events_after(session, self.cursor, limit=BATCH)
                    if not events:
                        return
                    rendered = await self.render(session, events) if self.connections else {}
                for ev in events:
                    await self._apply(ev, rendered.get(ev.id))
                    self.cursor = ev.id
                if len(events) < BATCH:
                    return

    async def render(self, session: AsyncSession, events: list[EventView]) -> dict[int, Rendered]:
        out: dict[int, Rendered] = {}
        missing: list[EventView] = []
        for ev in events:
            if ev.kind not in RENDERED_KINDS:
                continue
            cached = self._rendered.get(ev.id)
            if cached is not None:
                out[ev.id] = cached
            else:
                missing.append(ev)
        if missing:
            fresh = await self.renderer(session, missing)
            for ev in missing:
                value = fresh.get(ev.id, Rendered(None))
                out[ev.id] = value
                self._rendered[ev.id] = value
            while len(self._rendered) > RENDER_CACHE:
                self._rendered.popitem(last=False)
        return out

    async def _apply(self, ev: EventView, rendered: Rendered | None) -> None:
        if ev.kind == "_graph":
            for account in ev.audience.get("accounts") or []:
                account = int(account)
                self._graph_versions[account] = self._graph_versions.get(account, 0) + 1
                if account in self._graph_users:
                    await self._reload_graph(account)
            return
        if ev.kind == "_revoke":
            for conn in list(self.connections):
                if conn.token_id == ev.object_id:
                    conn.close("The access token was revoked", CLOSE_POLICY)
            return
        if ev.kind == "_suspend":
            for conn in list(self.connections):
                if conn.account_id == ev.account_id:
                    conn.close("Your login is currently disabled", CLOSE_POLICY)
            return
        if rendered is None and ev.kind in RENDERED_KINDS and self.connections:
            # The batch was read while no connection was open; one has registered since.
            async with self.sessions() as session:
                rendered = (await self.render(session, [ev])).get(ev.id)
        now = utcnow()
        shared: dict[tuple[str, tuple[str, ...]], Frame] = {}
        # Every connection's frames are worked out before any is offered: if judging one connection
        # failed half-way, the event is read again later and must not reach the others twice.
        deliveries = [(conn, self.frames_for(conn, ev, rendered, now, shared)) for conn in list(self.connections)]
        for conn, frames in deliveries:
            for frame in frames:
                conn.offer(frame)

    def frames_for(self, conn: Connection, ev: EventView, rendered: Rendered | None, now: Any,
                   shared: dict[tuple[str, tuple[str, ...]], Frame] | None = None) -> list[Frame]:
        """The frames ``conn`` gets for ``ev``; ``shared`` reuses one frame per stream label across
        the connections of one dispatch (so its encodings are made once)."""
        if ev.kind.startswith("_") or conn.closed:
            return []
        if ev.kind == "notification" and not grants(conn.scopes, "read:notifications"):
            return []
        if ev.kind in STATUS_KINDS and conn.token_id is not None and not grants(conn.scopes, "read:statuses"):
            return []  # a token for notifications only (the user stream takes either scope)
        graph = self.graphs.get(conn.account_id) if conn.account_id is not None else None
        if conn.account_id is not None and graph is None:
            graph = Graph(account_id=conn.account_id)
        frames = []
        for spec in conn.streams:
            if not wants(spec, ev, graph, now):
                continue
            name = event_name(spec, ev)
            label = tuple(spec.label())
            key = (name, label)
            if shared is not None and name != "conversation" and key in shared:
                frames.append(shared[key])
                continue
            payload = self._payload(name, ev, rendered, conn.account_id)
            if payload is not None:
                frame = Frame(ev.id, name, payload, label)
                if shared is not None and name != "conversation":
                    shared[key] = frame
                frames.append(frame)
        return frames

    @staticmethod
    def _payload(name: str, ev: EventView, rendered: Rendered | None, viewer: int | None) -> str | None:
        if name == "delete":
            return str(ev.object_id)
        if rendered is None or rendered.payload is None:
            return None
        if name == "conversation":
            if rendered.conversation is None:
                return None
            conversation = dict(rendered.conversation)
            conversation["accounts"] = [a for i, a in rendered.participants if i != viewer]
            conversation["unread"] = viewer != ev.account_id
            return orjson.dumps(conversation).decode()
        return rendered.payload

    async def replay(self, conn: Connection, after: int, up_to: int) -> AsyncIterator[Frame]:
        """The events ``conn`` missed: after ``after`` up to ``up_to`` (where live delivery began)."""
        conn.after = max(conn.after, after)
        while after < up_to and not conn.closed:
            async with self.sessions() as session:
                events = await store.events_after(session, after, up_to=up_to, limit=BATCH)
                if not events:
                    return
                rendered = await self.render(session, events)
            now = utcnow()
            for ev in events:
                if ev.kind in ("_revoke", "_suspend"):
                    await self._apply(ev, None)
                for frame in self.frames_for(conn, ev, rendered.get(ev.id), now):
                    yield frame
            after = events[-1].id

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.settings.streaming_heartbeat)
            for conn in list(self.connections):
                if conn.transport == "sse":
                    conn.offer(HEARTBEAT)
