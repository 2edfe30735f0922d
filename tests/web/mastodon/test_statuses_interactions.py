"""Favourites, reblogs, bookmarks, pins and conversation mutes, and the lists they make."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account, Favourite, Notification, Status
from tests.conftest import MakeActor
from tests.services.statuses.support import block, follow, post


def _links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("link", ""))}


# Favourites


async def test_favourite_is_idempotent_and_counts(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "like me")
    for _ in range(2):
        r = await client.post(f"/api/v1/statuses/{data['id']}/favourite", headers=bob.headers)
        assert r.status_code == 200
        assert r.json()["favourited"] is True
        assert r.json()["favourites_count"] == 1
    async with unit_of_work(container.sessions, write=False) as session:
        notes = (await session.execute(select(Notification))).scalars().all()
        assert [(n.type, n.account_id, n.from_account_id) for n in notes] == [
            ("favourite", int(alice.id), int(bob.id))
        ]
        fav = (await session.execute(select(Favourite))).scalar_one()
        assert notes[0].activity_id == fav.id and notes[0].status_id == int(data["id"])
    for _ in range(2):
        r = await client.post(f"/api/v1/statuses/{data['id']}/unfavourite", headers=bob.headers)
        assert r.status_code == 200
        assert r.json()["favourited"] is False
        assert r.json()["favourites_count"] == 0


async def test_favourite_needs_the_scope(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    limited = await make_actor("limited", scopes="read write:statuses")
    data = await post(client, alice, "like me")
    r = await client.post(f"/api/v1/statuses/{data['id']}/favourite", headers=limited.headers)
    assert r.status_code == 403


async def test_favourited_by_and_favourites_list_paging(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    fans = [await make_actor(f"fan{i}") for i in range(3)]
    data = await post(client, alice, "popular")
    for fan in fans:
        assert (await client.post(f"/api/v1/statuses/{data['id']}/favourite", headers=fan.headers)).status_code == 200
    r = await client.get(f"/api/v1/statuses/{data['id']}/favourited_by", params={"limit": 2})
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [fans[2].id, fans[1].id]
    links = _links(r)
    assert set(links) == {"next", "prev"}
    r2 = await client.get(links["next"])
    assert [a["id"] for a in r2.json()] == [fans[0].id]
    r3 = await client.get(links["prev"])
    assert r3.json() == []

    statuses = [await post(client, alice, f"s{i}") for i in range(3)]
    me = fans[0]
    for s in statuses:
        await client.post(f"/api/v1/statuses/{s['id']}/favourite", headers=me.headers)
    r = await client.get("/api/v1/favourites", params={"limit": 2}, headers=me.headers)
    assert [s["id"] for s in r.json()] == [statuses[2]["id"], statuses[1]["id"]]
    assert all(s["favourited"] for s in r.json())
    r = await client.get(_links(r)["next"], headers=me.headers)
    assert [s["id"] for s in r.json()] == [statuses[0]["id"], data["id"]]
    assert (await client.get("/api/v1/favourites")).status_code == 401


async def test_favourites_list_pages_by_favourite_not_status(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    old = await post(client, alice, "old")
    new = await post(client, alice, "new")
    await client.post(f"/api/v1/statuses/{new['id']}/favourite", headers=bob.headers)
    await client.post(f"/api/v1/statuses/{old['id']}/favourite", headers=bob.headers)
    r = await client.get("/api/v1/favourites", headers=bob.headers)
    assert [s["id"] for s in r.json()] == [old["id"], new["id"]]
    assert f"max_id={old['id']}" not in r.headers["link"]


# Reblogs


async def test_reblog_wraps_the_original_and_is_idempotent(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "share me")
    r = await client.post(f"/api/v1/statuses/{data['id']}/reblog", headers=bob.headers)
    assert r.status_code == 200, r.text
    reblog = r.json()
    assert reblog["reblog"]["id"] == data["id"]
    assert reblog["account"]["id"] == bob.id
    assert reblog["reblog"]["reblogged"] is True
    assert reblog["reblog"]["reblogs_count"] == 1
    assert reblog["visibility"] == "public"
    again = await client.post(f"/api/v1/statuses/{data['id']}/reblog", headers=bob.headers)
    assert again.json()["id"] == reblog["id"]
    via_reblog_id = await client.post(f"/api/v1/statuses/{reblog['id']}/reblog", headers=bob.headers)
    assert via_reblog_id.json()["id"] == reblog["id"]
    shown = await client.get(f"/api/v1/statuses/{reblog['id']}")
    assert shown.json()["reblog"]["id"] == data["id"]

    r = await client.get(f"/api/v1/statuses/{data['id']}/reblogged_by")
    assert [a["id"] for a in r.json()] == [bob.id]
    assert f"max_id={reblog['id']}" in r.headers["link"]

    async with unit_of_work(container.sessions, write=False) as session:
        notes = (await session.execute(select(Notification))).scalars().all()
        assert [(n.type, n.activity_id, n.status_id) for n in notes] == [
            ("reblog", int(reblog["id"]), int(data["id"]))
        ]
        b = await session.get(Account, int(bob.id))
        assert b is not None and b.statuses_count == 1

    r = await client.post(f"/api/v1/statuses/{data['id']}/unreblog", headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["id"] == data["id"]
    assert r.json()["reblogged"] is False and r.json()["reblogs_count"] == 0
    assert (await client.get(f"/api/v1/statuses/{reblog['id']}")).status_code == 404
    r = await client.post(f"/api/v1/statuses/{data['id']}/unreblog", headers=bob.headers)
    assert r.status_code == 200
    async with unit_of_work(container.sessions, write=False) as session:
        b = await session.get(Account, int(bob.id))
        assert b is not None and b.statuses_count == 0


async def test_reblog_visibility_rules(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await follow(container, bob, alice)
    private = await post(client, alice, "followers only", visibility="private")
    r = await client.post(f"/api/v1/statuses/{private['id']}/reblog", headers=bob.headers)
    assert r.status_code == 403
    own = await client.post(f"/api/v1/statuses/{private['id']}/reblog", headers=alice.headers)
    assert own.status_code == 200
    assert own.json()["visibility"] == "private"
    direct = await post(client, alice, "@bob hi", visibility="direct")
    r = await client.post(f"/api/v1/statuses/{direct['id']}/reblog", headers=bob.headers)
    assert r.status_code == 403
    public = await post(client, alice, "public")
    r = await client.post(f"/api/v1/statuses/{public['id']}/reblog", json={"visibility": "unlisted"},
                          headers=bob.headers)
    assert r.json()["visibility"] == "unlisted"
    other = await post(client, alice, "another")
    r = await client.post(f"/api/v1/statuses/{other['id']}/reblog", json={"visibility": "direct"},
                          headers=bob.headers)
    assert r.status_code == 422


async def test_deleting_a_reblog_directly(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "share me")
    reblog = (await client.post(f"/api/v1/statuses/{data['id']}/reblog", headers=bob.headers)).json()
    r = await client.put(f"/api/v1/statuses/{reblog['id']}", json={"status": "edited"}, headers=bob.headers)
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/statuses/{reblog['id']}", headers=bob.headers)
    assert r.status_code == 200
    assert r.json()["id"] == reblog["id"] and r.json()["reblog"]["id"] == data["id"]
    original = (await client.get(f"/api/v1/statuses/{data['id']}", headers=bob.headers)).json()
    assert original["reblogs_count"] == 0 and original["reblogged"] is False
    async with unit_of_work(container.sessions, write=False) as session:
        b = await session.get(Account, int(bob.id))
        assert b is not None and b.statuses_count == 0


# Blocks


async def test_blocked_by_author_cannot_interact(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "not for bob")
    await block(container, alice, bob)
    for action in ("favourite", "reblog", "bookmark"):
        r = await client.post(f"/api/v1/statuses/{data['id']}/{action}", headers=bob.headers)
        assert r.status_code == 404, action
    r = await client.post("/api/v1/statuses", json={"status": "hey", "in_reply_to_id": data["id"]},
                          headers=bob.headers)
    assert r.status_code == 404
    async with unit_of_work(container.sessions, write=False) as session:
        status = await session.get(Status, int(data["id"]))
        assert status is not None
        assert (status.favourites_count, status.reblogs_count, status.replies_count) == (0, 0, 0)


# Bookmarks


async def test_bookmarks(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    statuses = [await post(client, alice, f"s{i}") for i in range(3)]
    for s in statuses:
        for _ in range(2):
            r = await client.post(f"/api/v1/statuses/{s['id']}/bookmark", headers=bob.headers)
            assert r.status_code == 200
            assert r.json()["bookmarked"] is True
    r = await client.get("/api/v1/bookmarks", params={"limit": 2}, headers=bob.headers)
    assert [s["id"] for s in r.json()] == [statuses[2]["id"], statuses[1]["id"]]
    r = await client.get(_links(r)["next"], headers=bob.headers)
    assert [s["id"] for s in r.json()] == [statuses[0]["id"]]
    r = await client.post(f"/api/v1/statuses/{statuses[1]['id']}/unbookmark", headers=bob.headers)
    assert r.json()["bookmarked"] is False
    r = await client.get("/api/v1/bookmarks", headers=bob.headers)
    assert [s["id"] for s in r.json()] == [statuses[2]["id"], statuses[0]["id"]]
    assert (await client.get("/api/v1/bookmarks", headers=alice.headers)).json() == []
    limited = await make_actor("limited", scopes="read:statuses")
    assert (await client.get("/api/v1/bookmarks", headers=limited.headers)).status_code == 403


# Pins


async def test_pins(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    statuses = [await post(client, alice, f"s{i}") for i in range(6)]
    for s in statuses[:5]:
        r = await client.post(f"/api/v1/statuses/{s['id']}/pin", headers=alice.headers)
        assert r.status_code == 200
        assert r.json()["pinned"] is True
    again = await client.post(f"/api/v1/statuses/{statuses[0]['id']}/pin", headers=alice.headers)
    assert again.status_code == 200
    r = await client.post(f"/api/v1/statuses/{statuses[5]['id']}/pin", headers=alice.headers)
    assert r.status_code == 422
    assert "maximum" in r.json()["error"]
    r = await client.post(f"/api/v1/statuses/{statuses[0]['id']}/unpin", headers=alice.headers)
    assert r.json()["pinned"] is False
    assert (await client.post(f"/api/v1/statuses/{statuses[5]['id']}/pin", headers=alice.headers)).status_code == 200

    r = await client.post(f"/api/v1/statuses/{statuses[1]['id']}/pin", headers=bob.headers)
    assert r.status_code == 422
    direct = await post(client, alice, "@bob secret", visibility="direct")
    await client.post(f"/api/v1/statuses/{statuses[1]['id']}/unpin", headers=alice.headers)
    r = await client.post(f"/api/v1/statuses/{direct['id']}/pin", headers=alice.headers)
    assert r.status_code == 422
    reblog = (await client.post(f"/api/v1/statuses/{statuses[1]['id']}/reblog", headers=alice.headers)).json()
    r = await client.post(f"/api/v1/statuses/{reblog['id']}/pin", headers=alice.headers)
    assert r.status_code == 422
    private = await post(client, alice, "followers", visibility="private")
    assert (await client.post(f"/api/v1/statuses/{private['id']}/pin", headers=alice.headers)).status_code == 200
    no_scope = await make_actor("noscope", scopes="read write:statuses")
    r = await client.post(f"/api/v1/statuses/{statuses[1]['id']}/pin", headers=no_scope.headers)
    assert r.status_code == 403


# Conversation mutes


async def test_mute_conversation_answers_with_the_status(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "thread")
    for action in ("mute", "unmute"):
        r = await client.post(f"/api/v1/statuses/{data['id']}/{action}", headers=bob.headers)
        assert r.status_code == 200
        assert r.json()["id"] == data["id"]
    secret = await post(client, alice, "private", visibility="private")
    r = await client.post(f"/api/v1/statuses/{secret['id']}/mute", headers=bob.headers)
    assert r.status_code == 404
