from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from starling.bootstrap import Container
from starling.domain.ids import id_time
from tests.conftest import Actor, MakeActor
from tests.support import factories as f


def _links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])}


async def _post(client: httpx.AsyncClient, actor: Actor, path: str) -> dict[str, Any]:
    r = await client.post(path, headers=actor.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_show_a_tag(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await f.status(container, alice.id, "one", tags=["Cats"])
    await f.status(container, alice.id, "two", tags=["cats"])
    last = await f.status(container, bob.id, "three", tags=["cats"])
    await f.status(container, bob.id, "hidden", tags=["cats"], visibility="private")

    anonymous = await client.get("/api/v1/tags/CATS")
    assert anonymous.status_code == 200
    tag = anonymous.json()
    assert tag["name"] == "Cats"
    assert tag["url"] == "http://testserver/tags/cats"
    assert "following" not in tag and "featuring" not in tag
    assert len(tag["history"]) == 7
    posted_on = id_time(last).replace(hour=0, minute=0, second=0, microsecond=0)
    by_day = {day["day"]: day for day in tag["history"]}
    assert by_day.pop(str(int(posted_on.timestamp()))) == {"day": str(int(posted_on.timestamp())), "uses": "3",
                                                           "accounts": "2"}
    assert all(day["uses"] == "0" and day["accounts"] == "0" for day in by_day.values())

    signed_in = (await client.get("/api/v1/tags/cats", headers=alice.headers)).json()
    assert signed_in["following"] is False and signed_in["featuring"] is False
    assert signed_in["id"] == tag["id"]


async def test_an_unused_tag_is_shown_without_an_id(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.get("/api/v1/tags/NeverUsed", headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["id"] == ""
    assert r.json()["name"] == "NeverUsed"
    assert r.json()["following"] is False


@pytest.mark.parametrize("name", ["123", "with-dash", "a" * 101, "%23", "%00x"])
async def test_a_name_that_is_no_hashtag_is_not_found(
    client: httpx.AsyncClient, make_actor: MakeActor, name: str
) -> None:
    alice = await make_actor("alice")
    for method, path in [("GET", f"/api/v1/tags/{name}"), ("POST", f"/api/v1/tags/{name}/follow"),
                         ("POST", f"/api/v1/tags/{name}/unfollow"), ("POST", f"/api/v1/tags/{name}/feature")]:
        r = await client.request(method, path, headers=alice.headers)
        assert r.status_code in (404, 422), (method, path, r.text)
        assert "error" in r.json()


async def test_follow_and_unfollow_tags(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    assert (await client.get("/api/v1/followed_tags", headers=alice.headers)).json() == []

    foo = await _post(client, alice, "/api/v1/tags/foo/follow")
    assert foo["name"] == "foo" and foo["following"] is True and foo["id"]
    again = await _post(client, alice, "/api/v1/tags/FOO/follow")
    assert again["id"] == foo["id"] and again["following"] is True
    await _post(client, alice, "/api/v1/tags/bar/follow")

    followed = (await client.get("/api/v1/followed_tags", headers=alice.headers)).json()
    assert [t["name"] for t in followed] == ["bar", "foo"]
    assert all(t["following"] is True and len(t["history"]) == 7 for t in followed)
    assert (await client.get("/api/v1/tags/foo", headers=alice.headers)).json()["following"] is True

    unfollowed = await _post(client, alice, "/api/v1/tags/foo/unfollow")
    assert unfollowed["following"] is False
    assert (await _post(client, alice, "/api/v1/tags/foo/unfollow"))["following"] is False
    assert (await _post(client, alice, "/api/v1/tags/unknowntag/unfollow"))["following"] is False
    followed = (await client.get("/api/v1/followed_tags", headers=alice.headers)).json()
    assert [t["name"] for t in followed] == ["bar"]


async def test_followed_tags_are_paged(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for name in ("one", "two", "three"):
        await _post(client, alice, f"/api/v1/tags/{name}/follow")
    first = await client.get("/api/v1/followed_tags", params={"limit": 2}, headers=alice.headers)
    assert [t["name"] for t in first.json()] == ["three", "two"]
    second = await client.get(_links(first)["next"], headers=alice.headers)
    assert [t["name"] for t in second.json()] == ["one"]
    prev = await client.get(_links(second)["prev"], headers=alice.headers)
    assert [t["name"] for t in prev.json()] == ["three", "two"]


async def test_tag_scopes(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read")
    assert (await client.post("/api/v1/tags/foo/follow", headers=reader.headers)).status_code == 403
    assert (await client.post("/api/v1/tags/foo/follow")).status_code == 401
    legacy = await make_actor("legacy", scopes="follow read:follows")
    assert (await client.post("/api/v1/tags/foo/follow", headers=legacy.headers)).status_code == 200
    assert (await client.get("/api/v1/followed_tags", headers=legacy.headers)).status_code == 200
    writer = await make_actor("writer", scopes="write:follows")
    assert (await client.get("/api/v1/followed_tags", headers=writer.headers)).status_code == 403
    assert (await client.post("/api/v1/featured_tags", json={"name": "x"}, headers=writer.headers)).status_code == 403


async def test_a_followed_tag_brings_public_statuses_home(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave, erin = [await make_actor(n) for n in ("alice", "bob", "carol", "dave", "erin")]
    for follower in (alice, carol, dave):
        await _post(client, follower, "/api/v1/tags/cats/follow")
    await f.mute(container, carol.id, bob.id)
    await f.block(container, bob.id, dave.id)
    tagged = await f.status(container, bob.id, "#cats", tags=["cats"])
    await f.status(container, bob.id, "unlisted #cats", tags=["cats"], visibility="unlisted")
    await f.status(container, bob.id, "private #cats", tags=["cats"], visibility="private")
    await f.status(container, bob.id, "untagged")
    await f.status(container, erin.id, reblog_of=tagged)

    assert await f.feed_of(container, alice.id) == [tagged]
    assert await f.feed_of(container, carol.id) == []
    assert await f.feed_of(container, dave.id) == []
    home = await client.get("/api/v1/timelines/home", headers=alice.headers)
    assert [s["id"] for s in home.json()] == [str(tagged)]


async def test_featured_tags(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await f.status(container, alice.id, "#foo", tags=["foo"])
    latest = await f.status(container, alice.id, "#foo again", tags=["foo"], visibility="unlisted")
    await f.status(container, alice.id, "private #foo", tags=["foo"], visibility="private")
    await f.status(container, bob.id, "#foo by bob", tags=["foo"])
    assert (await client.get("/api/v1/featured_tags", headers=alice.headers)).json() == []

    r = await client.post("/api/v1/featured_tags", data={"name": "#Foo"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    foo = r.json()
    assert foo["name"] == "Foo"
    assert foo["url"] == "http://testserver/@alice/tagged/foo"
    assert foo["statuses_count"] == "2"
    assert foo["last_status_at"] == id_time(latest).date().isoformat()
    again = await client.post("/api/v1/featured_tags", json={"name": "foo"}, headers=alice.headers)
    assert again.json()["id"] == foo["id"]

    bar = (await client.post("/api/v1/featured_tags", json={"name": "bar"}, headers=alice.headers)).json()
    assert bar["statuses_count"] == "0" and bar["last_status_at"] is None

    mine = (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()
    assert [t["name"] for t in mine] == ["Foo", "bar"]
    public = await client.get(f"/api/v1/accounts/{alice.id}/featured_tags")
    assert public.status_code == 200
    assert public.json() == mine
    assert (await client.get(f"/api/v1/accounts/{bob.id}/featured_tags")).json() == []
    assert (await client.get("/api/v1/accounts/123456789/featured_tags")).status_code == 404

    assert (await client.get("/api/v1/tags/foo", headers=alice.headers)).json()["featuring"] is True
    assert (await client.delete(f"/api/v1/featured_tags/{foo['id']}", headers=bob.headers)).status_code == 404
    r = await client.delete(f"/api/v1/featured_tags/{foo['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {}
    assert (await client.delete(f"/api/v1/featured_tags/{foo['id']}", headers=alice.headers)).status_code == 404
    assert [t["name"] for t in (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()] == ["bar"]

    await f.suspend(container, alice.id)
    assert (await client.get(f"/api/v1/accounts/{alice.id}/featured_tags")).json() == []


@pytest.mark.parametrize(("body", "error"), [
    ({}, "Validation failed: Name can't be blank"),
    ({"name": "#"}, "Validation failed: Name can't be blank"),
    ({"name": "not valid"}, "Validation failed: Name is invalid"),
    ({"name": "42"}, "Validation failed: Name is invalid"),
    ({"name": {"a": 1}}, "Validation failed: name must be a string"),
])
async def test_bad_featured_tag_names(
    client: httpx.AsyncClient, make_actor: MakeActor, body: dict[str, Any], error: str
) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v1/featured_tags", json=body, headers=alice.headers)
    assert r.status_code == 422
    assert r.json()["error"] == error


async def test_featured_tags_are_limited(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for i in range(10):
        r = await client.post("/api/v1/featured_tags", json={"name": f"tag{chr(97 + i)}"}, headers=alice.headers)
        assert r.status_code == 200
    r = await client.post("/api/v1/featured_tags", json={"name": "onemore"}, headers=alice.headers)
    assert r.status_code == 422
    assert (await client.post("/api/v1/featured_tags", json={"name": "taga"}, headers=alice.headers)).status_code == 200
    assert len((await client.get("/api/v1/featured_tags", headers=alice.headers)).json()) == 10


async def test_feature_and_unfeature_by_tag_name(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    tag = await _post(client, alice, "/api/v1/tags/foo/feature")
    assert tag["name"] == "foo" and tag["featuring"] is True
    assert [t["name"] for t in (await client.get("/api/v1/featured_tags", headers=alice.headers)).json()] == ["foo"]
    assert (await _post(client, alice, "/api/v1/tags/foo/unfeature"))["featuring"] is False
    assert (await _post(client, alice, "/api/v1/tags/foo/unfeature"))["featuring"] is False
    assert (await client.get("/api/v1/featured_tags", headers=alice.headers)).json() == []


async def test_featured_tag_suggestions(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await f.status(container, alice.id, "#old", tags=["old"])
    await f.status(container, alice.id, "#new", tags=["new"])
    await f.status(container, alice.id, "#featured", tags=["featured"])
    await f.status(container, bob.id, "#other", tags=["other"])
    await client.post("/api/v1/featured_tags", json={"name": "featured"}, headers=alice.headers)

    r = await client.get("/api/v1/featured_tags/suggestions", headers=alice.headers)
    assert r.status_code == 200
    assert [t["name"] for t in r.json()] == ["new", "old"]
    assert r.json()[0]["featuring"] is False
