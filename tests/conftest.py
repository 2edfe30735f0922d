"""Shared fixtures: a migrated database per test process (SQLite or PostgreSQL, by
``STARLING_TEST_DB``), emptied before each test; an in-process client whose write requests run
the jobs they queued before returning; and a factory for signed-in accounts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container, build_container
from starling.config import Settings
from starling.db_migrate import upgrade
from starling.domain.ids import new_id
from starling.models import Application, Base
from starling.models.base import utcnow
from starling.services.accounts.register_account import NewAccount, register_account
from starling.services.oauth.issue_token import issue_token
from starling.web.app import create_app
from tests.support import databases

BASE_URL = "http://testserver"


def pytest_report_header() -> str:
    return f"starling test database: {databases.backend()}"


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if databases.backend() == "postgres":
        if not await databases.pg_reachable(databases.pg_admin_url()):
            if os.environ.get("CI") == "true":
                pytest.fail("PostgreSQL is not reachable and CI=true")
            pytest.skip("PostgreSQL is not reachable")
        name, url = await databases.create_pg_database()
        await asyncio.to_thread(upgrade, url)
        yield url
        await databases.drop_pg_database(name)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "starling.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(upgrade, url)
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        host="testserver",
        port=80,
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        run_jobs_in_server=False,
    )


@pytest.fixture(scope="session")
async def container(settings: Settings) -> AsyncIterator[Container]:
    c = build_container(settings)
    yield c
    await c.close()


_TABLES = [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(autouse=True)
async def _empty_database(request: pytest.FixtureRequest) -> None:
    if "container" not in request.fixturenames:
        return
    container: Container = request.getfixturevalue("container")
    async with unit_of_work(container.sessions) as session:
        if container.settings.is_sqlite:
            for name in _TABLES:
                await session.execute(text(f'DELETE FROM "{name}"'))
        else:
            await session.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in _TABLES) + " CASCADE"))


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container=container)

    async def run_jobs(response: httpx.Response) -> None:
        if response.request.method != "GET":
            await container.runner.run_until_empty()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL, event_hooks={"response": [run_jobs]}
    ) as c:
        yield c


@dataclass
class Actor:
    """A signed-in local account, with a token holding ``scopes``."""

    id: str
    username: str
    token: str
    user_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeActor = Callable[..., Awaitable[Actor]]


@pytest.fixture
def make_actor(container: Container) -> MakeActor:
    async def make(
        username: str,
        *,
        scopes: str = "read write follow push",
        admin: bool = False,
        locked: bool = False,
        password: str = "correct horse battery",
    ) -> Actor:
        async with unit_of_work(container.sessions) as session:
            account, user = await register_account(
                session,
                NewAccount(username=username, email=f"{username}@example.com", password=password, admin=admin,
                           allow_reserved=True),
            )
            account.locked = locked
            app = Application(
                id=new_id(), name="tests", website=None, redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                scopes=scopes, client_id=f"cid-{new_id()}", client_secret="s", created_at=utcnow(),
            )
            session.add(app)
            await session.flush()
            _, raw = await issue_token(session, application_id=app.id, user_id=user.id, scopes=scopes.split())
        return Actor(id=str(account.id), username=username, token=raw, user_id=user.id)

    return make
