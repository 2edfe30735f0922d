"""When a request takes SQLite's write lock: checking or hashing a password (tens of milliseconds) happens
before it, and signing in on a web page, which writes nothing, never takes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from starling.bootstrap import Container
from starling.config import Settings
from starling.services.accounts import register_account
from tests.conftest import MakeActor
from tests.support.statements import Laned, open_laned, write_gate_is_free
from tests.web.html.pages import app_token, create_app, sign_in

PASSWORD = "correct horse battery"


@pytest.fixture
async def laned(container: Container, settings: Settings) -> AsyncIterator[Laned]:
    async for value in open_laned(settings):
        yield value


async def test_the_password_grant_checks_the_password_before_its_write_transaction(
    laned: Laned, make_actor: MakeActor
) -> None:
    await make_actor("ann", password=PASSWORD)
    app = await create_app(laned.client)
    laned.lane_sql.clear()
    r = await laned.client.post("/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "ann@example.com", "password": PASSWORD, "scope": "read",
    })
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    sql = laned.lane_sql
    lookup = sql.index("SELECT users.")
    insert = sql.index("INSERT INTO oauth_tokens", lookup)
    if laned.container.settings.is_sqlite:
        begin = sql.index("BEGIN IMMEDIATE", lookup)
        assert lookup < sql.index("COMMIT", lookup) < begin < insert
        assert "BEGIN IMMEDIATE" not in sql.texts()[:lookup]
    else:
        assert "COMMIT" not in sql.texts()[lookup:insert]
    r = await laned.client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["username"] == "ann"


async def test_a_wrong_password_writes_nothing_and_takes_no_write_lock(laned: Laned, make_actor: MakeActor) -> None:
    await make_actor("ann", password=PASSWORD)
    app = await create_app(laned.client)
    laned.lane_sql.clear()
    r = await laned.client.post("/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "username": "ann@example.com", "password": "not the password",
    })
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "BEGIN IMMEDIATE" not in laned.lane_sql.texts()
    assert not any(text.startswith("INSERT") for text in laned.lane_sql.texts())


async def test_signing_in_on_the_web_page_takes_no_write_lock(laned: Laned, make_actor: MakeActor) -> None:
    await make_actor("ann", password=PASSWORD)
    page = await laned.client.get("/auth/sign_in")
    laned.lane_sql.clear()
    r = await sign_in(laned.client, page.text, "ann", PASSWORD)
    assert r.status_code == 303 and "starling_session=" in r.headers.get("set-cookie", "")
    assert laned.lane_sql.index("SELECT users.") >= 0  # the sign-in ran on the lane and looked the user up
    assert "BEGIN IMMEDIATE" not in laned.lane_sql.texts()
    home = await laned.client.get("/")
    assert home.status_code == 200 and "@ann" in home.text


async def test_a_write_that_fails_lets_go_of_the_write_lock_at_once(laned: Laned, make_actor: MakeActor) -> None:
    ann = await make_actor("ann")
    laned.lane_sql.clear()
    r = await laned.client.post("/api/v1/statuses", headers=ann.headers,
                                json={"status": "a reply to nothing", "in_reply_to_id": "123456789"})
    assert r.status_code == 404
    settings = laned.container.settings
    if settings.is_sqlite:
        assert "BEGIN IMMEDIATE" in laned.lane_sql.texts()  # it failed inside its write transaction
        assert write_gate_is_free(settings)
    r = await laned.client.post("/api/v1/statuses", headers=ann.headers, json={"status": "next"})
    assert r.status_code == 200


async def test_signing_up_hashes_the_password_before_taking_the_write_lock(
    laned: Laned, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = laned.container.settings
    seen_while_hashing: list[tuple[bool, list[str]]] = []
    real_hash = register_account.hash_password

    def watched_hash(password: str) -> str:
        gate_free = write_gate_is_free(settings) if settings.is_sqlite else True
        seen_while_hashing.append((gate_free, laned.lane_sql.texts()))
        return real_hash(password)

    monkeypatch.setattr(register_account, "hash_password", watched_hash)
    _, token = await app_token(laned.client)
    laned.lane_sql.clear()
    r = await laned.client.post("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}, json={
        "username": "carol", "email": "carol@example.net", "password": PASSWORD, "agreement": True,
    })
    assert r.status_code == 200, r.text
    assert len(seen_while_hashing) == 1  # hashed once
    gate_free, before = seen_while_hashing[0]
    assert gate_free  # no transaction held SQLite's write gate meanwhile (PostgreSQL locks rows at the INSERT)
    assert not any(sql.startswith(("BEGIN IMMEDIATE", "INSERT", "UPDATE")) for sql in before)
    assert any(sql.startswith("INSERT INTO accounts") for sql in laned.lane_sql.texts())
    r = await laned.client.get("/api/v1/accounts/verify_credentials",
                               headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert r.status_code == 200 and r.json()["username"] == "carol"
