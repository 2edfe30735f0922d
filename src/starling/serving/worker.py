"""A web worker: uvicorn serving the Starling app on the listening socket it inherited from the master.

Started by the master as ``python -m starling.serving.worker`` in a fresh interpreter, so it runs the
code now on disk. Besides the shared socket it serves a private Unix socket, on which the master asks
``GET /health/ready`` of this very process before it retires the workers this one replaces.

Connections on the shared socket are accepted by a thread of the worker's own (:mod:`starling.serving.door`,
``STARLING_ACCEPT_THREAD``), which refuses at once what the worker cannot serve in time and hands the rest
to uvicorn's event loop; the private socket is served by uvicorn directly.

On SIGTERM it drains: it stops accepting (the shared socket stays open in the master and the other
workers, so no connection is refused), marks itself not ready, tells streaming code to close
(:mod:`starling.serving.lifecycle`), answers in-flight requests for at most ``STARLING_DRAIN_TIMEOUT``
seconds, then runs the app's shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import sys
from typing import Any

import uvicorn

from starling.config import get_settings
from starling.serving import lifecycle
from starling.serving.settings import (
    JOBS_WAKE_ENV,
    LISTEN_FD_ENV,
    WORKER_SOCKET_ENV,
    ServingSettings,
    die_with_master,
)

log = logging.getLogger("starling.serving")


class WakeSender:
    """Wakes the job-runner process after a commit that added jobs (one datagram, never blocks)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setblocking(False)

    def __call__(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendto(b"w", self.path)


class WorkerServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, app: Any, wake_path: str | None, door_socket: socket.socket | None = None
    ) -> None:
        super().__init__(config)
        self._app = app
        self._wake_path = wake_path
        self._door_socket = door_socket
        self._door: Any = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        container = getattr(getattr(self._app, "state", None), "container", None)
        if self._wake_path and container is not None:
            # The job runner lives in its own process: a commit that adds jobs wakes it there.
            container.runner.wake = WakeSender(self._wake_path)
        if self._door_socket is not None and not self.should_exit:
            self._start_door(self._door_socket)
        # Everything loaded so far (modules, the app, its routes and templates) lives as long as the process:
        # out of the cyclic collector's sight, a full collection walks only what requests allocated. It holds
        # the interpreter lock while it runs, stopping the accepting thread too: with the start-up objects
        # included, a full collection took 150-185 ms in a busy worker (docs/RELIABILITY.md, drill 3).
        gc.collect()
        gc.freeze()

    def _start_door(self, listen: socket.socket) -> None:
        from starling.serving.door import COUNTS, Door, Handed

        loop = asyncio.get_running_loop()
        config = self.config

        async def adopt(conn: socket.socket, accepted_at: float, vetted: bool) -> None:
            def make() -> asyncio.Protocol:
                protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=self.server_state, app_state=self.lifespan.state
                )
                mark = getattr(protocol, "adopt", None)
                if mark is not None:
                    mark(accepted_at, vetted)
                return protocol

            try:
                await loop.connect_accepted_socket(make, conn)
            except OSError:
                conn.close()
                COUNTS.reached += 1  # it will never reach the application: not pending any more

        adopting: set[asyncio.Task[None]] = set()

        def adopt_batch(batch: list[Handed]) -> None:
            for conn, accepted_at, vetted in batch:
                task = loop.create_task(adopt(conn, accepted_at, vetted))
                adopting.add(task)
                task.add_done_callback(adopting.discard)

        def hand_over(batch: list[Handed]) -> None:
            loop.call_soon_threadsafe(adopt_batch, batch)

        def policy() -> Any:
            return getattr(getattr(self._app, "state", None), "admission", None)

        # The door thread needs the interpreter lock for a moment per connection, several times (each system
        # call gives it up); a busy event loop hands it over after this long (the default is 5 ms).
        sys.setswitchinterval(0.00025)
        self._door = Door(listen, hand_over, policy)
        self._door.start()

    async def on_tick(self, counter: int) -> bool:
        if self._door is not None and not self._door.running and not self.should_exit:
            # A worker that no longer accepts must not look alive: exit, and the master starts another.
            log.error("the accepting thread stopped; exiting so that a new worker takes over")
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        _mark_not_ready()
        lifecycle.begin_drain()
        _protocol_drain()
        if self._door is not None:
            await asyncio.to_thread(self._door.stop)
        await super().shutdown(sockets)


def _protocol_drain() -> None:
    try:
        from starling.serving.protocol import begin_drain
    except ImportError:
        return
    begin_drain()


def _mark_not_ready() -> None:
    try:
        from starling.web.health import set_draining
    except ImportError:
        return
    set_draining()


def _private_socket(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(64)
    return sock


def _http_protocol() -> type[Any] | str:
    try:
        from starling.serving.protocol import DrainingHttpToolsProtocol
    except ImportError:  # httptools missing: uvicorn's h11 protocol, which closes idle connections at once
        return "auto"
    return DrainingHttpToolsProtocol


def _ws_protocol() -> type[Any] | str:
    try:
        from starling.serving.websocket_protocol import LeanWebSocketProtocol
    except ImportError:  # websockets missing: uvicorn picks what it has
        return "auto"
    return LeanWebSocketProtocol


def main() -> None:
    die_with_master()
    settings = get_settings()
    serving = ServingSettings()
    listen = socket.socket(fileno=int(os.environ[LISTEN_FD_ENV]))
    private_path = os.environ.get(WORKER_SOCKET_ENV)
    # The door needs uvicorn to serve at least one socket of its own (the private one).
    door = serving.accept_thread and bool(private_path) and _http_protocol() != "auto"
    sockets = [] if door else [listen]
    if private_path:
        sockets.append(_private_socket(private_path))

    from starling.web.asgi import app

    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        proxy_headers=True,
        timeout_graceful_shutdown=max(1, round(serving.drain_timeout)),
        http=_http_protocol(),
        ws=_ws_protocol(),
        lifespan="on",
        backlog=serving.backlog,
        ws_per_message_deflate=settings.streaming_ws_compression,
    )
    server = WorkerServer(config, app, os.environ.get(JOBS_WAKE_ENV) or None, listen if door else None)
    try:
        server.run(sockets=sockets)
    finally:
        if private_path:
            with contextlib.suppress(OSError):
                os.unlink(private_path)


if __name__ == "__main__":
    main()
