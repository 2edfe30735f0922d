from __future__ import annotations

import re

import httpx

from starling.bootstrap import Container
from tests.conftest import Actor, MakeActor
from tests.support import factories as f


async def _actors(make_actor: MakeActor, *names: str) -> list[Actor]:
    return [await make_actor(n) for n in names]


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [int(n["id"]) for n in response.json()]


async def test_notifications_need_the_scope(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    assert (await client.get("/api/v1/notifications")).status_code == 401
    reader = await make_actor("reader", scopes="read:statuses")
    assert (await client.get("/api/v1/notifications", headers=reader.headers)).status_code == 403


async def test_notification_entities(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    post = await f.status(container, alice.id, "my post")
    mention = await f.status(container, bob.id, "hi @alice", mentions=[alice.id])
    followed = await f.notification(container, alice.id, bob.id, "follow")
    favourited = await f.notification(container, alice.id, bob.id, "favourite", status_id=post)
    mentioned = await f.notification(container, alice.id, bob.id, "mention", status_id=mention)

    body = (await client.get("/api/v1/notifications", headers=alice.headers)).json()
    assert [n["id"] for n in body] == [str(mentioned), str(favourited), str(followed)]
    first = body[0]
    assert first["type"] == "mention"
    assert first["group_key"] == f"ungrouped-{mentioned}"
    assert first["account"]["id"] == bob.id
    assert first["status"]["id"] == str(mention)
    assert first["created_at"].endswith("Z")
    assert body[1]["status"]["id"] == str(post)
    assert body[1]["status"]["account"]["id"] == alice.id
    assert "status" not in body[2]

    one = await client.get(f"/api/v1/notifications/{followed}", headers=alice.headers)
    assert one.json()["type"] == "follow"
    assert (await client.get(f"/api/v1/notifications/{followed}", headers=bob.headers)).status_code == 404
    assert (await client.get("/api/v1/notifications/nope", headers=alice.headers)).status_code == 404


async def test_types_filters_and_paging(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = await _actors(make_actor, "alice", "bob", "carol")
    post = await f.status(container, alice.id)
    follow_b = await f.notification(container, alice.id, bob.id, "follow")
    fav_b = await f.notification(container, alice.id, bob.id, "favourite", status_id=post)
    follow_c = await f.notification(container, alice.id, carol.id, "follow")
    fav_c = await f.notification(container, alice.id, carol.id, "favourite", status_id=post)
    h = alice.headers

    assert _ids(await client.get("/api/v1/notifications", params={"types[]": "follow"}, headers=h)) == [
        follow_c, follow_b]
    assert _ids(await client.get("/api/v1/notifications?types[]=follow&types[]=favourite", headers=h)) == [
        fav_c, follow_c, fav_b, follow_b]
    assert _ids(await client.get("/api/v1/notifications", params={"exclude_types[]": "follow"}, headers=h)) == [
        fav_c, fav_b]
    assert _ids(await client.get("/api/v1/notifications", params={"account_id": carol.id}, headers=h)) == [
        fav_c, follow_c]
    page = await client.get("/api/v1/notifications", params={"limit": 2}, headers=h)
    assert _ids(page) == [fav_c, follow_c]
    next_url = re.search(r'<([^>]+)>; rel="next"', page.headers["link"])
    assert next_url is not None
    assert _ids(await client.get(next_url.group(1), headers=h)) == [fav_b, follow_b]
    assert _ids(await client.get("/api/v1/notifications", params={"min_id": follow_b, "limit": 1}, headers=h)) == [
        fav_b]
    assert _ids(await client.get("/api/v1/notifications", params={"account_id": "x"}, headers=h)) == []


async def test_hidden_when_the_status_or_sender_is_out_of_reach(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave = await _actors(make_actor, "alice", "bob", "carol", "dave")
    await f.follow(container, alice.id, carol.id)
    gone = await f.status(container, bob.id, "soon deleted", mentions=[alice.id])
    private = await f.status(container, carol.id, "secret", visibility="private")
    await f.notification(container, alice.id, bob.id, "mention", status_id=gone)
    await f.notification(container, alice.id, carol.id, "status", status_id=private)
    await f.notification(container, alice.id, dave.id, "follow")
    kept = await f.notification(container, alice.id, carol.id, "follow")
    assert len(_ids(await client.get("/api/v1/notifications", headers=alice.headers))) == 4

    await f.delete_status(container, gone)
    await f.block(container, alice.id, dave.id)
    await f.unfollow(container, alice.id, carol.id)
    assert _ids(await client.get("/api/v1/notifications", headers=alice.headers)) == [kept]

    await f.suspend(container, carol.id)
    assert _ids(await client.get("/api/v1/notifications", headers=alice.headers)) == []


async def test_dismiss_and_clear(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    first = await f.notification(container, alice.id, bob.id, "follow")
    second = await f.notification(container, alice.id, bob.id, "follow_request")
    await f.notification(container, bob.id, alice.id, "follow")

    assert (await client.post(f"/api/v1/notifications/{first}/dismiss", headers=bob.headers)).status_code == 404
    r = await client.post(f"/api/v1/notifications/{first}/dismiss", headers=alice.headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.post(f"/api/v1/notifications/{first}/dismiss", headers=alice.headers)).status_code == 404
    assert (await client.get(f"/api/v1/notifications/{first}", headers=alice.headers)).status_code == 404
    assert _ids(await client.get("/api/v1/notifications", headers=alice.headers)) == [second]

    assert (await client.post("/api/v1/notifications/clear", headers=alice.headers)).json() == {}
    assert _ids(await client.get("/api/v1/notifications", headers=alice.headers)) == []
    assert len(_ids(await client.get("/api/v1/notifications", headers=bob.headers))) == 1


async def test_unread_count_follows_the_notifications_marker(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    ids = [await f.notification(container, alice.id, bob.id, "follow") for _ in range(3)]
    url = "/api/v1/notifications/unread_count"
    assert (await client.get(url, headers=alice.headers)).json() == {"count": 3}
    assert (await client.get(url, params={"limit": 2}, headers=alice.headers)).json() == {"count": 2}
    assert (await client.get(url, params={"types[]": "mention"}, headers=alice.headers)).json() == {"count": 0}

    r = await client.post("/api/v1/markers", json={"notifications": {"last_read_id": str(ids[0])}},
                          headers=alice.headers)
    assert r.status_code == 200
    assert (await client.get(url, headers=alice.headers)).json() == {"count": 2}
    assert (await client.get(url, params={"limit": "x"}, headers=alice.headers)).status_code == 422
