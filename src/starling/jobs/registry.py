"""Job kinds and their handlers. A handler loads what it needs by id and calls a service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

_HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in _HANDLERS and _HANDLERS[kind] is not fn:
            raise RuntimeError(f"job kind {kind!r} registered twice")
        _HANDLERS[kind] = fn
        return fn

    return register


def get_handler(kind: str) -> Handler | None:
    _load_handlers()
    return _HANDLERS.get(kind)


def _load_handlers() -> None:
    # Importing the handler module registers every kind.
    import starling.jobs.handlers
    import starling.jobs.stream_jobs  # noqa: F401
