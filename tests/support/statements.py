"""Watching which statements an engine runs, on which thread: for the tests of the write lane and of
when the write lock is taken."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from starling.adapters.db import GATE_SUFFIX
from starling.bootstrap import Container, build_container
from starling.config import Settings
from starling.web.app import create_app
from tests.conftest import BASE_URL


@dataclass
class Statements:
    """What one engine ran: (SQL or "COMMIT", thread id), in order."""

    seen: list[tuple[str, int]] = field(default_factory=list)

    def clear(self) -> None:
        self.seen.clear()

    def texts(self) -> list[str]:
        return [sql for sql, _ in self.seen]

    def index(self, prefix: str, start: int = 0) -> int:
        for i, sql in enumerate(self.texts()[start:], start):
            if sql.startswith(prefix):
                return i
        raise AssertionError(f"no statement starting {prefix!r} in {self.texts()}")

    def threads_of(self, prefix: str) -> set[int]:
        return {thread for sql, thread in self.seen if sql.startswith(prefix)}


def record(engine: AsyncEngine) -> Statements:
    statements = Statements()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.seen.append((" ".join(sql.split()), threading.get_ident()))

    @event.listens_for(engine.sync_engine, "commit")
    def _commit(_conn: Any) -> None:
        statements.seen.append(("COMMIT", threading.get_ident()))

    return statements


@dataclass
class Laned:
    container: Container
    app: FastAPI
    client: httpx.AsyncClient
    lane_sql: Statements
    main_sql: Statements

    @property
    def lane_thread(self) -> int:
        assert self.container.lane is not None and self.container.lane.thread_id is not None
        return self.container.lane.thread_id


async def open_laned(settings: Settings, **changes: object) -> AsyncIterator[Laned]:
    container = build_container(settings.model_copy(update={"write_lane": "on", **changes}))
    assert container.lane is not None
    container.lane.start()
    app = create_app(container=container)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            yield Laned(container, app, client, record(container.lane.engine), record(container.engine))
    finally:
        await container.close()


def write_gate_is_free(settings: Settings) -> bool:
    """Whether no transaction holds the SQLite database's write gate now."""
    assert settings.is_sqlite, "only SQLite has a write gate"
    path = (make_url(settings.effective_database_url).database or "") + GATE_SUFFIX
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
