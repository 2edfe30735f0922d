from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.models import Account, Block, Mute, User
from starling.models.base import utcnow
from tests.conftest import MakeActor


async def _set(container: Container, account_id: str, **values: object) -> None:
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(account_id)).values(**values))


def _names(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [a["username"] for a in r.json()]


async def test_directory_orders_by_latest_post_then_by_sign_up(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    now = utcnow()
    old = await make_actor("old")
    mid = await make_actor("mid")
    new = await make_actor("new")
    await _set(container, old.id, created_at=now - timedelta(days=3), last_status_at=now - timedelta(minutes=1))
    await _set(container, mid.id, created_at=now - timedelta(days=2), last_status_at=now - timedelta(days=1))
    await _set(container, new.id, created_at=now - timedelta(days=1), last_status_at=None)

    assert _names(await client.get("/api/v1/directory")) == ["old", "mid", "new"]
    assert _names(await client.get("/api/v1/directory", params={"order": "active"})) == ["old", "mid", "new"]
    assert _names(await client.get("/api/v1/directory", params={"order": "new"})) == ["new", "mid", "old"]
    assert _names(await client.get("/api/v1/directory", params={"order": "new", "offset": 1, "limit": 1})) == ["mid"]


async def test_directory_leaves_out_hidden_suspended_and_pending_accounts(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    await make_actor("shown")
    hidden = await make_actor("hidden")
    gone = await make_actor("gone")
    pending = await make_actor("pending")
    await _set(container, hidden.id, discoverable=False)
    await _set(container, gone.id, suspended_at=utcnow())
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(User).where(User.id == pending.user_id).values(approved=False))
    assert _names(await client.get("/api/v1/directory")) == ["shown"]


async def test_directory_local_filter(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    await make_actor("here")
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        session.add(Account(id=new_id(), username="far", username_lower="far", domain="far.example",
                            domain_key="far.example", created_at=now, updated_at=now))
    assert sorted(_names(await client.get("/api/v1/directory"))) == ["far", "here"]
    assert _names(await client.get("/api/v1/directory", params={"local": "true"})) == ["here"]


async def test_directory_hides_blocked_and_muted_accounts_from_the_viewer(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    viewer = await make_actor("viewer")
    blocked = await make_actor("blocked")
    blocker = await make_actor("blocker")
    muted = await make_actor("muted")
    await make_actor("friend")
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        session.add(Block(id=new_id(), account_id=int(viewer.id), target_account_id=int(blocked.id), created_at=now))
        session.add(Block(id=new_id(), account_id=int(blocker.id), target_account_id=int(viewer.id), created_at=now))
        session.add(Mute(id=new_id(), account_id=int(viewer.id), target_account_id=int(muted.id), created_at=now))
    assert sorted(_names(await client.get("/api/v1/directory", headers=viewer.headers))) == ["friend", "viewer"]
    assert len(_names(await client.get("/api/v1/directory"))) == 5


async def test_directory_rejects_bad_numbers(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/directory", params={"limit": "lots"})
    assert r.status_code == 422
    assert "error" in r.json()
