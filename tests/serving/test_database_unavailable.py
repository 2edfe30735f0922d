"""A request that cannot reach the database is told to come back (503, Retry-After), not given a 500."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from starling.bootstrap import build_container
from starling.config import Settings
from starling.web.app import create_app
from starling.web.errors import DATABASE_UNAVAILABLE, database_unavailable
from tests.support import databases


def _unreachable_url(tmp_path: Path) -> str:
    if databases.backend() == "postgres":
        # Port 1 on the loopback address: nothing listens there, the connection is refused at once.
        return "postgresql+asyncpg://postgres@127.0.0.1:1/starling"
    # A file in a folder that does not exist: SQLite cannot open it.
    return f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'starling.db'}"


async def test_database_down_answers_503_with_retry_after(settings: Settings, tmp_path: Path) -> None:
    down = settings.model_copy(update={"database_url": _unreachable_url(tmp_path)})
    container = build_container(down)
    app = create_app(container=container)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            public = await client.get("/api/v1/timelines/public")
            post = await client.post("/api/v1/statuses", json={"status": "hello"},
                                     headers={"Authorization": "Bearer some-token"})
    finally:
        await container.close()
    for response in (public, post):
        assert response.status_code == 503, response.text
        assert response.json() == {"error": DATABASE_UNAVAILABLE}
        assert response.headers["retry-after"] == "1"
        assert response.headers["cache-control"] == "no-store"


def test_only_connection_failures_count_as_the_database_being_unavailable() -> None:
    assert database_unavailable(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert database_unavailable(ConnectionRefusedError(111, "Connection refused"))
    lost = DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert database_unavailable(lost)
    starting = Exception("the database system is starting up")
    starting.sqlstate = "57P03"  # type: ignore[attr-defined]
    assert database_unavailable(DBAPIError("SELECT 1", {}, starting))
    syntax = Exception("syntax error")
    syntax.sqlstate = "42601"  # type: ignore[attr-defined]
    assert not database_unavailable(DBAPIError("SELECT 1", {}, syntax))
    assert not database_unavailable(DBAPIError("SELECT 1", {}, Exception("syntax error")))
    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not database_unavailable(ValueError("not a database problem"))
