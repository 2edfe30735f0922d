from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from starling.bootstrap import Container
from tests.conftest import Actor, MakeActor
from tests.support import factories as f


def _links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])}


async def _create(client: httpx.AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/lists", json={"title": "friends", **body}, headers=actor.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def _add(client: httpx.AsyncClient, actor: Actor, list_id: str, *ids: str) -> httpx.Response:
    return await client.post(f"/api/v1/lists/{list_id}/accounts", json={"account_ids": list(ids)},
                             headers=actor.headers)


def _ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [int(s["id"]) for s in response.json()]


async def test_create_show_update_and_delete_a_list(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    assert (await client.get("/api/v1/lists", headers=alice.headers)).json() == []

    created = await _create(client, alice)
    assert created == {"id": created["id"], "title": "friends", "replies_policy": "list", "exclusive": False}
    shown = await client.get(f"/api/v1/lists/{created['id']}", headers=alice.headers)
    assert shown.json() == created

    r = await client.put(f"/api/v1/lists/{created['id']}", data={"replies_policy": "followed", "exclusive": "true"},
                         headers=alice.headers)
    assert r.status_code == 200
    assert r.json() == {**created, "replies_policy": "followed", "exclusive": True}
    r = await client.put(f"/api/v1/lists/{created['id']}", json={"title": "close friends"}, headers=alice.headers)
    assert r.json()["title"] == "close friends"
    assert r.json()["replies_policy"] == "followed"

    second = await _create(client, alice, title="work", replies_policy="none")
    titles = [x["title"] for x in (await client.get("/api/v1/lists", headers=alice.headers)).json()]
    assert titles == ["close friends", "work"]

    r = await client.delete(f"/api/v1/lists/{created['id']}", headers=alice.headers)
    assert r.status_code == 200
    assert r.json() == {}
    assert (await client.get(f"/api/v1/lists/{created['id']}", headers=alice.headers)).status_code == 404
    assert [x["id"] for x in (await client.get("/api/v1/lists", headers=alice.headers)).json()] == [second["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "ok", "replies_policy": "everyone"}, "replies_policy"),
        ({"title": "ok", "exclusive": "maybe"}, "exclusive"),
        ({"title": ["a", "b"]}, "title"),
    ],
)
async def test_bad_list_fields_are_validation_errors(
    client: httpx.AsyncClient, make_actor: MakeActor, body: dict[str, Any], field: str
) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v1/lists", json=body, headers=alice.headers)
    assert r.status_code == 422
    assert field in r.json()["details"]
    assert (await client.get("/api/v1/lists", headers=alice.headers)).json() == []


async def test_update_with_a_blank_title_changes_nothing(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    created = await _create(client, alice)
    r = await client.put(f"/api/v1/lists/{created['id']}", json={"title": "", "exclusive": True},
                         headers=alice.headers)
    assert r.status_code == 422
    assert (await client.get(f"/api/v1/lists/{created['id']}", headers=alice.headers)).json() == created


async def test_another_accounts_list_is_not_found(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    created = await _create(client, alice)
    lid = created["id"]
    for method, path in [
        ("GET", f"/api/v1/lists/{lid}"),
        ("PUT", f"/api/v1/lists/{lid}"),
        ("DELETE", f"/api/v1/lists/{lid}"),
        ("GET", f"/api/v1/lists/{lid}/accounts"),
        ("POST", f"/api/v1/lists/{lid}/accounts"),
        ("DELETE", f"/api/v1/lists/{lid}/accounts"),
        ("GET", f"/api/v1/timelines/list/{lid}"),
        ("GET", "/api/v1/lists/not-an-id"),
        ("GET", "/api/v1/timelines/list/99999999999999999999999"),
    ]:
        r = await client.request(method, path, headers=bob.headers, json={"title": "mine", "account_ids": []})
        assert r.status_code == 404, (method, path, r.text)
        assert r.json() == {"error": "Record not found"}
    assert (await client.get(f"/api/v1/lists/{lid}", headers=alice.headers)).json() == created


async def test_scopes(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read:lists")
    assert (await client.get("/api/v1/lists")).status_code == 401
    assert (await client.get("/api/v1/lists", headers=reader.headers)).status_code == 200
    assert (await client.post("/api/v1/lists", json={"title": "x"}, headers=reader.headers)).status_code == 403
    writer = await make_actor("writer", scopes="write:lists")
    assert (await client.get("/api/v1/lists", headers=writer.headers)).status_code == 403
    assert (await client.post("/api/v1/lists", json={"title": "x"}, headers=writer.headers)).status_code == 200


async def test_only_followed_accounts_can_be_added(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    lid = (await _create(client, alice))["id"]
    await f.follow(container, alice.id, bob.id)

    r = await _add(client, alice, lid, bob.id, carol.id)
    assert r.status_code == 404
    members = await client.get(f"/api/v1/lists/{lid}/accounts", headers=alice.headers)
    assert members.json() == []  # all or nothing

    assert (await _add(client, alice, lid, "123456789")).status_code == 404
    r = await _add(client, alice, lid, bob.id)
    assert r.status_code == 200
    assert r.json() == {}
    r = await _add(client, alice, lid, bob.id)
    assert r.status_code == 422
    assert r.json()["error"] == "Validation failed: Account has already been taken"
    assert (await _add(client, alice, lid)).status_code == 200
    assert (await _add(client, alice, lid, "nope")).status_code == 422

    members = await client.get(f"/api/v1/lists/{lid}/accounts", headers=alice.headers)
    assert [a["username"] for a in members.json()] == ["bob"]


async def test_members_are_paged_and_removed(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    others = [await make_actor(f"user{i}") for i in range(3)]
    lid = (await _create(client, alice))["id"]
    for other in others:
        await f.follow(container, alice.id, other.id)
        assert (await _add(client, alice, lid, other.id)).status_code == 200

    first = await client.get(f"/api/v1/lists/{lid}/accounts", params={"limit": 2}, headers=alice.headers)
    assert [a["username"] for a in first.json()] == ["user2", "user1"]
    second = await client.get(_links(first)["next"], headers=alice.headers)
    assert [a["username"] for a in second.json()] == ["user0"]
    everyone = await client.get(f"/api/v1/lists/{lid}/accounts", params={"limit": 0}, headers=alice.headers)
    assert len(everyone.json()) == 3
    assert "link" not in everyone.headers

    r = await client.request("DELETE", f"/api/v1/lists/{lid}/accounts", headers=alice.headers,
                             json={"account_ids": [others[0].id, "123456789"]})
    assert r.status_code == 200
    assert r.json() == {}
    r = await client.delete(f"/api/v1/lists/{lid}/accounts?account_ids[]={others[1].id}", headers=alice.headers)
    assert r.status_code == 200
    remaining = await client.get(f"/api/v1/lists/{lid}/accounts", headers=alice.headers)
    assert [a["username"] for a in remaining.json()] == ["user2"]


async def test_unfollowing_or_blocking_takes_the_account_out_of_lists(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    lid = (await _create(client, alice))["id"]
    for target in (bob, carol):
        assert (await client.post(f"/api/v1/accounts/{target.id}/follow", headers=alice.headers)).status_code == 200
    assert (await _add(client, alice, lid, bob.id, carol.id)).status_code == 200

    assert (await client.post(f"/api/v1/accounts/{bob.id}/unfollow", headers=alice.headers)).status_code == 200
    assert (await client.post(f"/api/v1/accounts/{alice.id}/block", headers=carol.headers)).status_code == 200

    members = await client.get(f"/api/v1/lists/{lid}/accounts", headers=alice.headers)
    assert members.json() == []


async def test_lists_holding_an_account(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    await f.follow(container, alice.id, bob.id)
    await f.follow(container, carol.id, bob.id)
    first = await _create(client, alice, title="one")
    await _create(client, alice, title="two")
    carols = await _create(client, carol, title="carol's")
    await _add(client, alice, first["id"], bob.id)
    await _add(client, carol, carols["id"], bob.id)

    r = await client.get(f"/api/v1/accounts/{bob.id}/lists", headers=alice.headers)
    assert r.status_code == 200
    assert r.json() == [first]
    assert (await client.get(f"/api/v1/accounts/{carol.id}/lists", headers=alice.headers)).json() == []
    assert (await client.get("/api/v1/accounts/123456789/lists", headers=alice.headers)).status_code == 404
    assert (await client.get(f"/api/v1/accounts/{bob.id}/lists")).status_code == 401


async def test_list_timeline_shows_members_statuses_the_owner_may_see(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave = [await make_actor(n) for n in ("alice", "bob", "carol", "dave")]
    await f.follow(container, alice.id, bob.id)
    await f.follow(container, alice.id, carol.id)
    lid = (await _create(client, alice))["id"]
    await _add(client, alice, lid, bob.id)

    public = await f.status(container, bob.id, "public")
    private = await f.status(container, bob.id, "private", visibility="private")
    unlisted = await f.status(container, bob.id, "unlisted", visibility="unlisted")
    await f.status(container, bob.id, "direct", visibility="direct", mentions=[alice.id])
    await f.status(container, carol.id, "not a member")
    await f.status(container, dave.id, "stranger")
    own = await f.status(container, alice.id, "owner")

    r = await client.get(f"/api/v1/timelines/list/{lid}", headers=alice.headers)
    assert _ids(r) == [unlisted, private, public]
    assert own not in _ids(r)

    paged = await client.get(f"/api/v1/timelines/list/{lid}", params={"limit": 2}, headers=alice.headers)
    assert _ids(paged) == [unlisted, private]
    assert _ids(await client.get(_links(paged)["next"], headers=alice.headers)) == [public]
    newer = await client.get(f"/api/v1/timelines/list/{lid}", params={"min_id": public, "limit": 1},
                             headers=alice.headers)
    assert _ids(newer) == [private]

    await f.mute(container, alice.id, bob.id)
    assert _ids(await client.get(f"/api/v1/timelines/list/{lid}", headers=alice.headers)) == []


async def test_list_timeline_reblogs(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob, carol = [await make_actor(n) for n in ("alice", "bob", "carol")]
    await f.follow(container, alice.id, bob.id)
    lid = (await _create(client, alice))["id"]
    await _add(client, alice, lid, bob.id)
    original = await f.status(container, carol.id, "original")
    reblog = await f.status(container, bob.id, reblog_of=original)
    hidden = await f.status(container, carol.id, "hidden", visibility="private")
    await f.status(container, bob.id, reblog_of=hidden)

    r = await client.get(f"/api/v1/timelines/list/{lid}", headers=alice.headers)
    assert _ids(r) == [reblog]
    assert r.json()[0]["reblog"]["id"] == str(original)

    await f.block(container, carol.id, alice.id)
    assert _ids(await client.get(f"/api/v1/timelines/list/{lid}", headers=alice.headers)) == []


@pytest.mark.parametrize(
    ("policy", "shown"),
    [("none", {"self", "to_owner"}), ("list", {"self", "to_owner", "to_member"}),
     ("followed", {"self", "to_owner", "to_member", "to_followed"})],
)
async def test_list_timeline_replies_policy(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, policy: str, shown: set[str]
) -> None:
    alice, bob, carol, dave, erin = [await make_actor(n) for n in ("alice", "bob", "carol", "dave", "erin")]
    for target in (bob, carol, dave):
        await f.follow(container, alice.id, target.id)
    lid = (await _create(client, alice, replies_policy=policy))["id"]
    await _add(client, alice, lid, bob.id, carol.id)

    root = {name: await f.status(container, who.id, name)
            for name, who in (("bob", bob), ("alice", alice), ("carol", carol), ("dave", dave), ("erin", erin))}
    replies = {
        "self": await f.status(container, bob.id, "self", in_reply_to=root["bob"]),
        "to_owner": await f.status(container, bob.id, "to owner", in_reply_to=root["alice"]),
        "to_member": await f.status(container, bob.id, "to member", in_reply_to=root["carol"]),
        "to_followed": await f.status(container, bob.id, "to followed", in_reply_to=root["dave"]),
        "to_stranger": await f.status(container, bob.id, "to stranger", in_reply_to=root["erin"]),
    }
    got = set(_ids(await client.get(f"/api/v1/timelines/list/{lid}", params={"limit": 40}, headers=alice.headers)))
    assert {name for name, sid in replies.items() if sid in got} == shown
    assert root["bob"] in got and root["carol"] in got


async def test_exclusive_list_keeps_members_out_of_home(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = [await make_actor(n) for n in ("alice", "bob", "carol")]
    await f.follow(container, alice.id, bob.id)
    await f.follow(container, alice.id, carol.id)
    lid = (await _create(client, alice, exclusive=True))["id"]
    await _add(client, alice, lid, bob.id)
    from_bob = await f.status(container, bob.id, "bob")
    from_carol = await f.status(container, carol.id, "carol")

    assert await f.feed_of(container, alice.id) == [from_carol]
    assert _ids(await client.get(f"/api/v1/timelines/list/{lid}", headers=alice.headers)) == [from_bob]


async def test_a_suspended_member_is_hidden(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await f.follow(container, alice.id, bob.id)
    lid = (await _create(client, alice))["id"]
    await _add(client, alice, lid, bob.id)
    await f.suspend(container, bob.id)
    assert (await client.get(f"/api/v1/lists/{lid}/accounts", headers=alice.headers)).json() == []
    assert (await client.get(f"/api/v1/accounts/{bob.id}/lists", headers=alice.headers)).status_code == 404
