"""A web worker: uvicorn serving the Starling app on the listening socket it inherited from the master.

Started by the master as ``python -m starling.serving.worker`` in a fresh interpreter, so it runs the
code now on disk. Besides the shared socket it serves a private Unix socket, on which the master asks
``GET /health/ready`` of this very process before it retires the workers this one replaces.

On SIGTERM it drains: it stops accepting (the shared socket stays open in the master and the other
workers, so no connection is refused), marks itself not ready, tells streaming code to close
(:mod:`starling.serving.lifecycle`), answers in-flight requests for at most ``STARLING_DRAIN_TIMEOUT``
seconds, then runs the app's shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
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
    def __init__(self, config: uvicorn.Config, app: Any, wake_path: str | None) -> None:
        super().__init__(config)
        self._app = app
        self._wake_path = wake_path

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        container = getattr(getattr(self._app, "state", None), "container", None)
        if self._wake_path and container is not None:
            # The job runner lives in its own process: a commit that adds jobs wakes it there.
            container.runner.wake = WakeSender(self._wake_path)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        _mark_not_ready()
        lifecycle.begin_drain()
        await super().shutdown(sockets)


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


def main() -> None:
    die_with_master()
    settings = get_settings()
    serving = ServingSettings()
    listen = socket.socket(fileno=int(os.environ[LISTEN_FD_ENV]))
    sockets = [listen]
    private_path = os.environ.get(WORKER_SOCKET_ENV)
    if private_path:
        sockets.append(_private_socket(private_path))

    from starling.web.asgi import app

    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        proxy_headers=True,
        timeout_graceful_shutdown=max(1, round(serving.drain_timeout)),
        http=_http_protocol(),
        lifespan="on",
        backlog=serving.backlog,
    )
    server = WorkerServer(config, app, os.environ.get(JOBS_WAKE_ENV) or None)
    try:
        server.run(sockets=sockets)
    finally:
        if private_path:
            with contextlib.suppress(OSError):
                os.unlink(private_path)


if __name__ == "__main__":
    main()
