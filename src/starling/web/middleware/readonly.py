"""Read-only mode at the door: while it is on, every write is answered 503 with the admin's message
and ``Retry-After``, before it reaches a handler or opens a transaction; reads pass untouched.

Signing in keeps working, so people can still open the server and read: registering an app, the
OAuth authorize and token endpoints, token revocation, and the browser's sign-in and sign-out.
Everything else that writes, registration included, is refused.

The switch is read from the database at most every ``CACHE_SECONDS`` per process (and only when a
write comes in), so turning it on or off reaches every worker within that time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from html import escape

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.services.maintenance.read_only import (
    CACHE_SECONDS,
    OFF,
    ReadOnlyState,
    forced_by_environment,
    read_only_state,
)

log = logging.getLogger("starling.read_only")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes that only sign someone in or out.
ALLOWED_WRITES = frozenset({
    "/api/v1/apps",
    "/oauth/token",
    "/oauth/authorize",
    "/oauth/revoke",
    "/auth/sign_in",
    "/auth/sign_out",
})
_EXTRAS_KEY = "read_only_cache"
_clock = time.monotonic


@dataclass
class _Cached:
    state: ReadOnlyState
    expires: float


async def current_state(container: Container) -> ReadOnlyState:
    """The switch as this process sees it (cached for ``CACHE_SECONDS``)."""
    cached = container.extras.get(_EXTRAS_KEY)
    now = _clock()
    if isinstance(cached, _Cached) and cached.expires > now:
        return cached.state
    try:
        async with unit_of_work(container.sessions, write=False) as session:
            state = await read_only_state(session)
    except Exception:
        # The database is unreachable: the write will fail on its own; keep what we knew.
        log.warning("could not read the read-only switch", exc_info=True)
        state = cached.state if isinstance(cached, _Cached) else OFF
        if forced_by_environment():
            state = ReadOnlyState(enabled=True, forced_by_environment=True)
    container.extras[_EXTRAS_KEY] = _Cached(state, now + CACHE_SECONDS)
    return state


def forget_cached_state(container: Container) -> None:
    """Make the next write read the switch again (the CLI and tests change it in this process)."""
    container.extras.pop(_EXTRAS_KEY, None)


def refuses(method: str, path: str) -> bool:
    """True for a request read-only mode turns away."""
    return method in WRITE_METHODS and path.rstrip("/") not in ALLOWED_WRITES


def _wants_html(scope: Scope) -> bool:
    if scope["path"].startswith("/api/"):
        return False
    for name, value in scope.get("headers") or ():
        if name == b"accept":
            return b"text/html" in value
    return False


class ReadOnlyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not refuses(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        container = getattr(getattr(scope.get("app"), "state", None), "container", None)
        if not isinstance(container, Container):
            await self.app(scope, receive, send)
            return
        state = await current_state(container)
        if not state.enabled:
            await self.app(scope, receive, send)
            return
        if _wants_html(scope):
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Read-only</title>'
                '<link rel="stylesheet" href="/static/style.css"></head><body><main class="card">'
                f'<h1>Read-only for maintenance</h1><p class="flash notice" role="status">{escape(state.message)}</p>'
                '</main></body></html>'
            ).encode()
            content_type = b"text/html; charset=utf-8"
        else:
            body = orjson.dumps({"error": state.message})
            content_type = b"application/json"
        await send({
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(state.retry_after).encode()),
                (b"cache-control", b"no-store"),
            ],
        })
        await send({"type": "http.response.body", "body": body})
