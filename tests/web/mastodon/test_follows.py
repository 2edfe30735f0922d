from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select, update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account, Follow, FollowRequest, Notification
from starling.models.base import utcnow
from tests.conftest import Actor, MakeActor


async def _counts(container: Container, actor: Actor) -> tuple[int, int]:
    """(followers_count, following_count) as stored."""
    async with unit_of_work(container.sessions, write=False) as session:
        account = await session.get(Account, int(actor.id))
        assert account is not None
        return account.followers_count, account.following_count


async def _rows(container: Container, model: Any, **where: Any) -> int:
    async with unit_of_work(container.sessions, write=False) as session:
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return int(await session.scalar(stmt) or 0)


async def _follow(client: httpx.AsyncClient, actor: Actor, target: Actor, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/accounts/{target.id}/follow", headers=actor.headers, json=body)


async def test_follow_unlocked_account(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")

    r = await _follow(client, alice, bob)

    assert r.status_code == 200
    rel = r.json()
    assert rel["id"] == bob.id
    assert rel["following"] is True
    assert rel["showing_reblogs"] is True
    assert rel["notifying"] is False
    assert rel["requested"] is False
    assert rel["followed_by"] is False
    assert rel["note"] == ""
    assert await _counts(container, alice) == (0, 1)
    assert await _counts(container, bob) == (1, 0)
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow") == 1


async def test_follow_again_updates_options_without_duplicates(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await _follow(client, alice, bob)

    r = await _follow(client, alice, bob, reblogs=False, notify=True)
    assert r.status_code == 200
    assert r.json()["showing_reblogs"] is False
    assert r.json()["notifying"] is True

    r = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers, data={"notify": "false"})
    assert r.status_code == 200
    assert r.json()["showing_reblogs"] is False  # not given: unchanged
    assert r.json()["notifying"] is False

    assert await _rows(container, Follow, account_id=int(alice.id)) == 1
    assert await _counts(container, bob) == (1, 0)
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow") == 1


async def test_follow_accepts_languages(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    r = await client.post(
        f"/api/v1/accounts/{bob.id}/follow", headers=alice.headers, data={"languages[]": ["en", "de"]}
    )
    assert r.status_code == 200
    assert r.json()["following"] is True


async def test_follow_rejects_a_bad_boolean(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    r = await _follow(client, alice, bob, reblogs="maybe")
    assert r.status_code == 422
    assert "reblogs" in r.json()["error"]


async def test_cannot_follow_yourself(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await _follow(client, alice, alice)
    assert r.status_code == 403
    assert r.json()["error"] == "You cannot follow yourself"


async def test_follow_unknown_or_suspended_is_not_found(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    for bad in ("123456789", "nope", "0"):
        r = await client.post(f"/api/v1/accounts/{bad}/follow", headers=alice.headers)
        assert r.status_code == 404, bad
        assert "error" in r.json()
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(bob.id)).values(suspended_at=utcnow()))
    r = await _follow(client, alice, bob)
    assert r.status_code == 404


async def test_follow_is_forbidden_across_a_block(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    assert (await client.post(f"/api/v1/accounts/{alice.id}/block", headers=bob.headers)).status_code == 200

    r = await _follow(client, alice, bob)
    assert r.status_code == 403
    assert "blocked you" in r.json()["error"]
    r = await _follow(client, bob, alice)
    assert r.status_code == 403
    assert "blocking" in r.json()["error"]


async def test_follow_scope_is_enforced(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice", scopes="read")
    bob = await make_actor("bob")
    r = await _follow(client, alice, bob)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/accounts/{bob.id}/follow")
    assert r.status_code == 401
    carol = await make_actor("carol", scopes="write:follows")
    assert (await _follow(client, carol, bob)).status_code == 200
    dave = await make_actor("dave", scopes="follow")
    assert (await _follow(client, dave, bob)).status_code == 200


async def test_unfollow(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await _follow(client, alice, bob)

    r = await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["following"] is False
    assert await _counts(container, alice) == (0, 0)
    assert await _counts(container, bob) == (0, 0)
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow") == 0

    r = await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert r.status_code == 200
    assert await _counts(container, bob) == (0, 0)
    r = await client.post("/api/v1/accounts/999999/unfollow", headers=alice.headers)
    assert r.status_code == 404


async def test_locked_account_request_then_authorize(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob", locked=True)

    r = await _follow(client, alice, bob, notify=True)
    assert r.status_code == 200
    assert r.json()["requested"] is True
    assert r.json()["following"] is False
    assert await _counts(container, bob) == (0, 0)
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow_request") == 1

    r = await _follow(client, alice, bob)
    assert r.status_code == 200
    assert await _rows(container, FollowRequest, account_id=int(alice.id)) == 1

    r = await client.get("/api/v1/follow_requests", headers=bob.headers)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [alice.id]

    r = await client.get(f"/api/v1/accounts/relationships?id[]={bob.id}", headers=alice.headers)
    assert r.json()[0]["requested"] is True
    r = await client.get(f"/api/v1/accounts/relationships?id[]={alice.id}", headers=bob.headers)
    assert r.json()[0]["requested_by"] is True

    r = await client.post(f"/api/v1/follow_requests/{alice.id}/authorize", headers=bob.headers)
    assert r.status_code == 200
    rel = r.json()
    assert rel["id"] == alice.id
    assert rel["followed_by"] is True
    assert rel["requested_by"] is False
    assert await _counts(container, bob) == (1, 0)
    assert await _counts(container, alice) == (0, 1)
    assert await _rows(container, FollowRequest) == 0
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow_request") == 0
    async with unit_of_work(container.sessions, write=False) as session:
        follow = (await session.execute(select(Follow))).scalar_one()
        assert follow.notify is True

    assert (await client.get("/api/v1/follow_requests", headers=bob.headers)).json() == []
    r = await client.post(f"/api/v1/follow_requests/{alice.id}/authorize", headers=bob.headers)
    assert r.status_code == 404


async def test_locked_account_request_then_reject(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob", locked=True)
    await _follow(client, alice, bob)
    assert await _rows(container, Notification, account_id=int(bob.id), type="follow_request") == 1

    r = await client.post(f"/api/v1/follow_requests/{alice.id}/reject", headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["requested_by"] is False
    assert r.json()["followed_by"] is False
    assert await _rows(container, FollowRequest) == 0
    assert await _rows(container, Follow) == 0
    assert await _counts(container, bob) == (0, 0)

    r = await client.post(f"/api/v1/follow_requests/{alice.id}/reject", headers=bob.headers)
    assert r.status_code == 404


async def test_unfollow_withdraws_a_request(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob", locked=True)
    await _follow(client, alice, bob)
    r = await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["requested"] is False
    assert await _rows(container, FollowRequest) == 0
    assert await _rows(container, Notification, type="follow_request") == 0


async def test_follow_requests_need_read_scope(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice", scopes="write")
    assert (await client.get("/api/v1/follow_requests", headers=alice.headers)).status_code == 403
    assert (await client.get("/api/v1/follow_requests")).status_code == 401


async def test_follow_requests_are_paged(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    bob = await make_actor("bob", locked=True)
    askers = [await make_actor(f"asker{i}") for i in range(3)]
    for asker in askers:
        await _follow(client, asker, bob)

    r = await client.get("/api/v1/follow_requests?limit=2", headers=bob.headers)
    assert [a["id"] for a in r.json()] == [askers[2].id, askers[1].id]
    next_url = r.links["next"]["url"]
    r = await client.get(next_url, headers=bob.headers)
    assert [a["id"] for a in r.json()] == [askers[0].id]


async def test_remove_from_followers(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await _follow(client, alice, bob)

    r = await client.post(f"/api/v1/accounts/{alice.id}/remove_from_followers", headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["followed_by"] is False
    assert await _counts(container, bob) == (0, 0)
    assert await _counts(container, alice) == (0, 0)


async def test_followers_and_following_are_paged_with_link_header(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    star = await make_actor("star")
    fans = [await make_actor(f"fan{i}") for i in range(5)]
    for fan in fans:
        await _follow(client, fan, star)

    r = await client.get(f"/api/v1/accounts/{star.id}/followers?limit=2")
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [fans[4].id, fans[3].id]
    link = r.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    r = await client.get(r.links["next"]["url"])
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id]
    r = await client.get(r.links["next"]["url"])
    assert [a["id"] for a in r.json()] == [fans[0].id]
    prev = r.links["prev"]["url"]
    r = await client.get(prev)
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id]

    r = await client.get(f"/api/v1/accounts/{fans[0].id}/following", headers=fans[0].headers)
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [star.id]
    assert r.json()[0]["username"] == "star"


async def test_followers_hide_suspended_accounts(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    star = await make_actor("star")
    fan = await make_actor("fan")
    gone = await make_actor("gone")
    await _follow(client, fan, star)
    await _follow(client, gone, star)
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(gone.id)).values(suspended_at=utcnow()))

    r = await client.get(f"/api/v1/accounts/{star.id}/followers")
    assert [a["id"] for a in r.json()] == [fan.id]
    assert (await client.get(f"/api/v1/accounts/{gone.id}/following")).status_code == 404
    assert (await client.get("/api/v1/accounts/424242/followers")).status_code == 404


async def test_followers_hidden_from_a_blocked_viewer(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    star = await make_actor("star")
    fan = await make_actor("fan")
    troll = await make_actor("troll")
    await _follow(client, fan, star)
    await client.post(f"/api/v1/accounts/{troll.id}/block", headers=star.headers)

    r = await client.get(f"/api/v1/accounts/{star.id}/followers", headers=troll.headers)
    assert r.status_code == 200
    assert r.json() == []
    assert "link" not in r.headers
    r = await client.get(f"/api/v1/accounts/{star.id}/followers", headers=fan.headers)
    assert [a["id"] for a in r.json()] == [fan.id]


async def test_concurrent_follows_make_one_follow(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    carol = await make_actor("carol", locked=True)

    responses = await asyncio.gather(*(_follow(client, alice, bob) for _ in range(5)))
    responses += await asyncio.gather(*(_follow(client, alice, carol) for _ in range(5)))

    assert [r.status_code for r in responses] == [200] * 10
    assert await _rows(container, Follow) == 1
    assert await _rows(container, FollowRequest) == 1
    assert await _counts(container, bob) == (1, 0)
    assert await _counts(container, alice) == (0, 1)
