from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account, Block, Follow, FollowRequest, Mute, Notification
from starling.models.base import utcnow
from tests.conftest import Actor, MakeActor


async def _rows(container: Container, model: Any, **where: Any) -> int:
    async with unit_of_work(container.sessions, write=False) as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(await session.scalar(stmt) or 0)


async def _counts(container: Container, actor: Actor) -> tuple[int, int]:
    async with unit_of_work(container.sessions, write=False) as session:
        account = await session.get(Account, int(actor.id))
        assert account is not None
        return account.followers_count, account.following_count


async def _expire_mutes(container: Container, owner: Actor) -> None:
    async with unit_of_work(container.sessions) as session:
        await session.execute(
            update(Mute).where(Mute.account_id == int(owner.id)).values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_block_removes_follows_both_ways(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert await _counts(container, alice) == (1, 1)
    assert await _rows(container, Notification, account_id=int(alice.id)) == 1

    r = await client.post(f"/api/v1/accounts/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200
    rel = r.json()
    assert rel["blocking"] is True
    assert rel["following"] is False
    assert rel["followed_by"] is False
    assert await _rows(container, Follow) == 0
    assert await _counts(container, alice) == (0, 0)
    assert await _counts(container, bob) == (0, 0)
    assert await _rows(container, Notification, account_id=int(alice.id)) == 0

    r = await client.post(f"/api/v1/accounts/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200
    assert await _rows(container, Block) == 1

    r = await client.get(f"/api/v1/accounts/relationships?id[]={alice.id}", headers=bob.headers)
    assert r.json()[0]["blocked_by"] is True


async def test_block_removes_pending_requests_both_ways(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice", locked=True)
    bob = await make_actor("bob", locked=True)
    await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers)
    await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)
    assert await _rows(container, FollowRequest) == 2

    r = await client.post(f"/api/v1/accounts/{alice.id}/block", headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["requested"] is False
    assert r.json()["requested_by"] is False
    assert await _rows(container, FollowRequest) == 0
    assert await _rows(container, Notification, type="follow_request") == 0


async def test_unblock_and_blocks_list(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me")
    targets = [await make_actor(f"target{i}") for i in range(3)]
    for target in targets:
        await client.post(f"/api/v1/accounts/{target.id}/block", headers=me.headers)

    r = await client.get("/api/v1/blocks?limit=2", headers=me.headers)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [targets[2].id, targets[1].id]
    r = await client.get(r.links["next"]["url"], headers=me.headers)
    assert [a["id"] for a in r.json()] == [targets[0].id]

    r = await client.post(f"/api/v1/accounts/{targets[1].id}/unblock", headers=me.headers)
    assert r.status_code == 200
    assert r.json()["blocking"] is False
    r = await client.get("/api/v1/blocks", headers=me.headers)
    assert [a["id"] for a in r.json()] == [targets[2].id, targets[0].id]
    r = await client.post(f"/api/v1/accounts/{targets[1].id}/unblock", headers=me.headers)
    assert r.status_code == 200


async def test_block_errors_and_scopes(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me")
    reader = await make_actor("reader", scopes="read")
    r = await client.post(f"/api/v1/accounts/{me.id}/block", headers=me.headers)
    assert r.status_code == 403
    assert (await client.post("/api/v1/accounts/4242/block", headers=me.headers)).status_code == 404
    assert (await client.post(f"/api/v1/accounts/{me.id}/block", headers=reader.headers)).status_code == 403
    assert (await client.get("/api/v1/blocks", headers=reader.headers)).status_code == 200
    writer = await make_actor("writer", scopes="write")
    assert (await client.get("/api/v1/blocks", headers=writer.headers)).status_code == 403


async def test_mute_and_mutes_list(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me")
    loud = await make_actor("loud")
    noisy = await make_actor("noisy")

    r = await client.post(f"/api/v1/accounts/{loud.id}/mute", headers=me.headers)
    assert r.status_code == 200
    assert r.json()["muting"] is True
    assert r.json()["muting_notifications"] is True
    assert r.json()["muting_expires_at"] is None

    r = await client.post(
        f"/api/v1/accounts/{noisy.id}/mute", headers=me.headers, data={"notifications": "false", "duration": "3600"}
    )
    assert r.status_code == 200
    assert r.json()["muting_notifications"] is False
    expires = datetime.fromisoformat(r.json()["muting_expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=55) < expires - utcnow() <= timedelta(hours=1)

    r = await client.get("/api/v1/mutes", headers=me.headers)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [noisy.id, loud.id]
    assert r.json()[0]["mute_expires_at"] is not None
    assert r.json()[1]["mute_expires_at"] is None

    r = await client.post(f"/api/v1/accounts/{noisy.id}/mute", headers=me.headers)
    assert r.json()["muting_expires_at"] is None
    assert r.json()["muting_notifications"] is True

    r = await client.post(f"/api/v1/accounts/{loud.id}/unmute", headers=me.headers)
    assert r.status_code == 200
    assert r.json()["muting"] is False
    r = await client.get("/api/v1/mutes", headers=me.headers)
    assert [a["id"] for a in r.json()] == [noisy.id]


async def test_expired_mute_behaves_as_absent(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    me = await make_actor("me")
    other = await make_actor("other")
    await client.post(f"/api/v1/accounts/{other.id}/mute", headers=me.headers, json={"duration": 60})
    await _expire_mutes(container, me)

    r = await client.get(f"/api/v1/accounts/relationships?id[]={other.id}", headers=me.headers)
    assert r.json()[0]["muting"] is False
    assert r.json()[0]["muting_expires_at"] is None
    assert (await client.get("/api/v1/mutes", headers=me.headers)).json() == []

    await client.post(f"/api/v1/accounts/{me.id}/follow", headers=other.headers)
    assert await _rows(container, Notification, account_id=int(me.id), type="follow") == 1

    r = await client.post(f"/api/v1/accounts/{other.id}/mute", headers=me.headers)
    assert r.json()["muting"] is True
    assert await _rows(container, Mute) == 1


async def test_muted_account_does_not_notify(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    me = await make_actor("me")
    other = await make_actor("other")
    await client.post(f"/api/v1/accounts/{other.id}/mute", headers=me.headers)
    await client.post(f"/api/v1/accounts/{me.id}/follow", headers=other.headers)
    assert await _rows(container, Notification, account_id=int(me.id)) == 0
    r = await client.get(f"/api/v1/accounts/relationships?id[]={other.id}", headers=me.headers)
    assert r.json()[0]["followed_by"] is True


async def test_mute_errors_and_scopes(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me")
    other = await make_actor("other")
    reader = await make_actor("reader", scopes="read")
    assert (await client.post(f"/api/v1/accounts/{me.id}/mute", headers=me.headers)).status_code == 403
    assert (await client.post("/api/v1/accounts/4242/mute", headers=me.headers)).status_code == 404
    r = await client.post(f"/api/v1/accounts/{other.id}/mute", headers=me.headers, json={"duration": -5})
    assert r.status_code == 422
    r = await client.post(f"/api/v1/accounts/{other.id}/mute", headers=me.headers, json={"duration": 10**30})
    assert r.status_code == 422
    assert (await client.post(f"/api/v1/accounts/{other.id}/mute", headers=reader.headers)).status_code == 403
    assert (await client.get("/api/v1/mutes", headers=reader.headers)).status_code == 200
    assert (await client.get("/api/v1/mutes")).status_code == 401
