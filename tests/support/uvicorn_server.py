"""A uvicorn server on a free port of 127.0.0.1, in the test's own event loop, for protocol-level tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def running(app: Any, **options: Any) -> AsyncIterator[tuple[uvicorn.Server, int]]:
    """Serve ``app`` with ``uvicorn.Config(app, **options)`` (no lifespan, quiet logs) until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=5, **options)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    try:
        yield server, port
    finally:
        if server.started:
            await server.shutdown(sockets=[sock])
