"""Read-only mode: writes get 503 with the message and Retry-After; reading and signing in keep working."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.services.maintenance.read_only import DEFAULT_MESSAGE, set_read_only
from starling.web.middleware import readonly
from starling.web.middleware.readonly import forget_cached_state, refuses
from tests.conftest import MakeActor
from tests.web.html.pages import create_app, sign_in

PASSWORD = "correct horse battery"


async def _switch(container: Container, enabled: bool, message: str | None = None) -> None:
    async with unit_of_work(container.sessions) as session:
        await set_read_only(session, enabled, message=message, retry_after=120)
    forget_cached_state(container)


@pytest.fixture
async def read_only(container: Container) -> AsyncIterator[None]:
    await _switch(container, True, "Moving to a new host until 04:00 UTC")
    yield
    forget_cached_state(container)


async def test_writes_are_refused_with_the_message(
    client: httpx.AsyncClient, make_actor: MakeActor, read_only: None
) -> None:
    ann = await make_actor("ann")
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hello"})
    assert r.status_code == 503
    assert r.json() == {"error": "Moving to a new host until 04:00 UTC"}
    assert r.headers["retry-after"] == "120"
    for method, path in (("PATCH", "/api/v1/accounts/update_credentials"), ("DELETE", "/api/v1/statuses/1"),
                         ("PUT", "/api/v1/statuses/1"), ("POST", "/api/v1/accounts")):
        r = await client.request(method, path, headers=ann.headers)
        assert r.status_code == 503, (method, path)
    r = await client.get("/api/v1/timelines/home", headers=ann.headers)
    assert r.status_code == 200 and r.json() == []


async def test_reading_works(client: httpx.AsyncClient, make_actor: MakeActor, read_only: None) -> None:
    ann = await make_actor("ann")
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/home", "/api/v1/accounts/verify_credentials",
                 "/api/v1/instance", "/api/v1/notifications", "/auth/sign_in"):
        r = await client.get(path, headers=ann.headers)
        assert r.status_code == 200, path


async def test_signing_in_works(client: httpx.AsyncClient, make_actor: MakeActor, read_only: None) -> None:
    await make_actor("ann", password=PASSWORD)
    app = await create_app(client)
    r = await client.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                                "client_secret": app["client_secret"], "username": "ann",
                                                "password": PASSWORD, "scope": "read"})
    assert r.status_code == 200, r.text
    page = await client.get("/auth/sign_in")
    assert "Moving to a new host until 04:00 UTC" in page.text  # the banner says so on every page
    r = await sign_in(client, page.text, "ann", PASSWORD)
    assert r.status_code == 303


async def test_registration_is_refused_with_a_page_for_browsers(
    client: httpx.AsyncClient, read_only: None
) -> None:
    r = await client.post("/auth/sign_up", data={"username": "x"}, headers={"Accept": "text/html"})
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/html")
    assert "Moving to a new host until 04:00 UTC" in r.text


async def test_off_again_accepts_writes_and_default_message(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    await _switch(container, True)
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hello"})
    assert r.status_code == 503 and r.json() == {"error": DEFAULT_MESSAGE}
    await _switch(container, False)
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hello"})
    assert r.status_code == 200


async def test_environment_forces_it_on(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await make_actor("ann")
    monkeypatch.setenv("STARLING_READ_ONLY", "true")
    forget_cached_state(container)
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hello"})
    assert r.status_code == 503 and r.json() == {"error": DEFAULT_MESSAGE}
    monkeypatch.delenv("STARLING_READ_ONLY")
    forget_cached_state(container)


async def test_the_switch_is_read_at_most_every_few_seconds(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await make_actor("ann")
    clock = [1000.0]
    monkeypatch.setattr(readonly, "_clock", lambda: clock[0])
    await _switch(container, True)
    assert (await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "a"})).status_code == 503
    async with unit_of_work(container.sessions) as session:
        await set_read_only(session, False)  # another process turns it off
    clock[0] += 1.0
    assert (await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "b"})).status_code == 503
    clock[0] += readonly.CACHE_SECONDS
    assert (await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "c"})).status_code == 200
    forget_cached_state(container)


def test_which_requests_are_refused() -> None:
    assert refuses("POST", "/api/v1/statuses")
    assert refuses("POST", "/api/v1/accounts")
    assert refuses("POST", "/auth/sign_up")
    assert refuses("DELETE", "/api/v1/statuses/1")
    assert not refuses("GET", "/api/v1/timelines/home")
    assert not refuses("HEAD", "/api/v1/statuses/1")
    for path in ("/oauth/token", "/oauth/authorize", "/oauth/revoke", "/auth/sign_in", "/auth/sign_out",
                 "/api/v1/apps", "/api/v1/apps/"):
        assert not refuses("POST", path), path
