"""Counting the server's own activity, for planning maintenance windows (``starling maintenance-window``).

A pure ASGI middleware: per request it adds one to an in-process counter and remembers the credential
the request carried (a bearer token or the browser-session cookie), nothing more; no query, no lock,
no waiting. Once a minute (a background task started with the server) and when the server shuts
down, the credentials are turned into accounts with one query and the counts added to
``activity_hours``. A flush that fails (the database is restarting) is kept and retried with the next
one. At most one flush runs at a time per process.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.services.maintenance.activity_counter import ActivityCounter, HourBatch
from starling.services.maintenance.record_activity import ActivityBatch, record_activity
from starling.web.html.session import COOKIE_NAME, Signer, decode_session, server_secret

log = logging.getLogger("starling.activity")

FLUSH_INTERVAL = 60.0
# Not people using the server: probes, metrics scrapes and static files.
_SKIPPED_PREFIXES = ("/health", "/metrics", "/static/", "/favicon.ico")
_COOKIE_PREFIX = COOKIE_NAME + "="
_EXTRAS_KEY = "activity_recorder"


class ActivityRecorder:
    """The per-process counter and its flushing; one per container."""

    def __init__(self, container: Container, *, interval: float = FLUSH_INTERVAL) -> None:
        self.container = container
        self.counter = ActivityCounter()
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def hit(self, token: str | None, cookie: str | None) -> None:
        self.counter.hit(time.time(), token=token, cookie=cookie)

    def start(self) -> None:
        """Flush every ``interval`` seconds from now on (the server's startup calls this)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_periodically())

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.warning("could not store activity counts; they are kept for the next flush", exc_info=True)

    async def flush(self) -> None:
        """Store everything counted so far. On failure the counts are kept and the error raised."""
        async with self._lock:
            batches = self.counter.drain()
            if not batches:
                return
            try:
                await self._store(batches)
            except BaseException:
                self.counter.restore(batches)
                raise

    async def _store(self, batches: list[HourBatch]) -> None:
        signer: Signer | None = None
        for batch in batches:
            user_ids: set[int] = set()
            if batch.cookies:
                signer = signer or Signer(await server_secret(self.container))
                for cookie in batch.cookies:
                    web = decode_session(signer, cookie)
                    if web is not None and web.user_id is not None:
                        user_ids.add(web.user_id)
            async with unit_of_work(self.container.sessions) as session:
                await record_activity(
                    session,
                    ActivityBatch(hour_start=batch.hour_start, requests=batch.requests, tokens=batch.tokens,
                                  user_ids=user_ids),
                )

    async def close(self) -> None:
        """Stop flushing periodically and store what is left (the server's shutdown calls this)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._flush_logged()


def recorder_for(container: Container) -> ActivityRecorder:
    recorder = container.extras.get(_EXTRAS_KEY)
    if not isinstance(recorder, ActivityRecorder):
        recorder = ActivityRecorder(container)
        container.extras[_EXTRAS_KEY] = recorder
    return recorder


async def flush_activity(container: Container) -> None:
    """Store what this process counted so far (tests, and the shutdown of the server)."""
    await recorder_for(container).flush()


def credentials(scope: Scope) -> tuple[str | None, str | None]:
    """The bearer token, else the session cookie, the request carried (unverified: checked when flushed)."""
    cookie: str | None = None
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            kind, _, raw = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and raw.strip():
                return raw.strip(), None
        elif name == b"cookie":
            text = value.decode("latin-1")
            at = text.find(_COOKIE_PREFIX)
            if at >= 0 and (at == 0 or text[at - 1] in " ;"):
                cookie = text[at + len(_COOKIE_PREFIX):].split(";", 1)[0].strip() or None
    query: bytes = scope.get("query_string") or b""
    if cookie is None and b"access_token=" in query:
        for part in query.decode("latin-1").split("&"):
            key, _, value = part.partition("=")
            if key == "access_token" and value:
                return value, None
    return None, cookie


def _container(scope: Scope) -> Container | None:
    app = scope.get("app")
    state = getattr(app, "state", None)
    container = getattr(state, "container", None)
    return container if isinstance(container, Container) else None


class ActivityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._flush_on_shutdown(scope, receive), self._start_on_startup(scope, send))
            return
        if scope["type"] == "http" and not scope["path"].startswith(_SKIPPED_PREFIXES):
            container = _container(scope)
            if container is not None:
                token, cookie = credentials(scope)
                recorder_for(container).hit(token, cookie)
        await self.app(scope, receive, send)

    def _start_on_startup(self, scope: Scope, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                container = _container(scope)
                if container is not None:
                    recorder_for(container).start()
            await send(message)

        return wrapped

    def _flush_on_shutdown(self, scope: Scope, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                container = _container(scope)
                if container is not None:
                    await recorder_for(container).close()
            return message

        return wrapped
