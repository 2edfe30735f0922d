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
    return [int(s["id"]) for s in response.json()]


def _links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])}


async def test_home_needs_a_token_with_read_scope(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    assert (await client.get("/api/v1/timelines/home")).status_code == 401
    writer = await make_actor("writer", scopes="write")
    assert (await client.get("/api/v1/timelines/home", headers=writer.headers)).status_code == 403


async def test_home_pages_with_max_since_and_min_id(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    await f.follow(container, bob.id, alice.id)
    posted = [await f.status(container, alice.id, f"post {i}") for i in range(5)]
    newest = list(reversed(posted))

    first = await client.get("/api/v1/timelines/home", params={"limit": 2}, headers=bob.headers)
    assert _ids(first) == newest[:2]
    assert first.json()[0]["account"]["username"] == "alice"
    link = first.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    links = _links(first)
    assert f"max_id={newest[1]}" in links["next"]
    assert f"min_id={newest[0]}" in links["prev"]

    second = await client.get(links["next"], headers=bob.headers)
    assert _ids(second) == newest[2:4]

    since = await client.get("/api/v1/timelines/home", params={"since_id": posted[1], "limit": 2},
                             headers=bob.headers)
    assert _ids(since) == newest[:2]
    after = await client.get("/api/v1/timelines/home", params={"min_id": posted[1], "limit": 2}, headers=bob.headers)
    assert _ids(after) == [posted[3], posted[2]]

    empty = await client.get("/api/v1/timelines/home", params={"max_id": posted[0]}, headers=bob.headers)
    assert _ids(empty) == []
    assert "link" not in empty.headers
    not_an_id = await client.get("/api/v1/timelines/home", params={"max_id": "nope", "limit": 1}, headers=bob.headers)
    assert _ids(not_an_id) == newest[:1]


async def test_home_hides_at_read_time_what_became_hidden(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, dave = await _actors(make_actor, "alice", "bob", "carol", "dave")
    for target in (alice, carol, dave):
        await f.follow(container, bob.id, target.id)
    by_alice = await f.status(container, alice.id)
    by_carol = await f.status(container, carol.id)
    by_dave = await f.status(container, dave.id)
    dave_reblog = await f.status(container, dave.id, reblog_of=by_alice)
    assert _ids(await client.get("/api/v1/timelines/home", headers=bob.headers)) == [by_dave, by_carol, by_alice]
    assert dave_reblog not in await f.feed_of(container, bob.id)

    await f.mute(container, bob.id, alice.id)
    await f.suspend(container, carol.id)
    assert _ids(await client.get("/api/v1/timelines/home", headers=bob.headers)) == [by_dave]


async def test_home_shows_reblogs_with_the_original(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await _actors(make_actor, "alice", "bob", "carol")
    await f.follow(container, bob.id, alice.id)
    original = await f.status(container, carol.id, "worth sharing")
    reblog = await f.status(container, alice.id, reblog_of=original)
    body = (await client.get("/api/v1/timelines/home", headers=bob.headers)).json()
    assert [s["id"] for s in body] == [str(reblog)]
    assert body[0]["reblog"]["id"] == str(original)
    assert body[0]["reblog"]["content"] == "<p>worth sharing</p>"

    await f.block(container, bob.id, carol.id)
    assert _ids(await client.get("/api/v1/timelines/home", headers=bob.headers)) == []


async def test_follow_merges_and_unfollow_unmerges(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol = await _actors(make_actor, "alice", "bob", "carol")
    public = await f.status(container, alice.id, "public")
    private = await f.status(container, alice.id, "private", visibility="private")
    direct = await f.status(container, alice.id, "direct", visibility="direct", mentions=[carol.id])
    mine = await f.status(container, bob.id, "mine")
    await f.follow(container, bob.id, alice.id, merge=True)
    home = _ids(await client.get("/api/v1/timelines/home", headers=bob.headers))
    assert home == [mine, private, public]
    assert direct not in home

    later = await f.status(container, alice.id, "later")
    assert _ids(await client.get("/api/v1/timelines/home", headers=bob.headers)) == [later, mine, private, public]
    await f.unfollow(container, bob.id, alice.id)
    assert _ids(await client.get("/api/v1/timelines/home", headers=bob.headers)) == [mine]


async def test_public_timeline_without_a_token(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    remote = await f.remote_account(container, "faraway")
    local_post = await f.status(container, alice.id, "local")
    with_media = await f.status(container, alice.id, "picture", media=True)
    remote_post = await f.status(container, remote, "remote")
    await f.status(container, alice.id, "unlisted", visibility="unlisted")
    await f.status(container, alice.id, "private", visibility="private")
    await f.status(container, bob.id, reblog_of=local_post)
    await f.status(container, bob.id, "reply to alice", in_reply_to=local_post)
    thread = await f.status(container, alice.id, "thread", in_reply_to=local_post)

    assert _ids(await client.get("/api/v1/timelines/public")) == [thread, remote_post, with_media, local_post]
    local = await client.get("/api/v1/timelines/public", params={"local": "true"})
    assert _ids(local) == [thread, with_media, local_post]
    assert _ids(await client.get("/api/v1/timelines/public", params={"remote": "true"})) == [remote_post]
    both = await client.get("/api/v1/timelines/public", params={"remote": "true", "local": "true"})
    assert _ids(both) == [thread, remote_post, with_media, local_post]
    media = (await client.get("/api/v1/timelines/public", params={"only_media": "1"})).json()
    assert [s["id"] for s in media] == [str(with_media)]
    assert len(media[0]["media_attachments"]) == 1
    assert "favourited" not in media[0]


async def test_public_timeline_hides_blocked_and_muted_for_the_viewer(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, carol, viewer = await _actors(make_actor, "alice", "bob", "carol", "viewer")
    by_alice = await f.status(container, alice.id)
    await f.status(container, bob.id)
    await f.status(container, carol.id)
    await f.block(container, viewer.id, bob.id)
    await f.mute(container, viewer.id, carol.id)
    assert _ids(await client.get("/api/v1/timelines/public", headers=viewer.headers)) == [by_alice]
    assert len(_ids(await client.get("/api/v1/timelines/public"))) == 3


async def test_tag_timeline(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    alice, bob = await _actors(make_actor, "alice", "bob")
    cats = await f.status(container, alice.id, "#Cats", tags=["Cats"])
    both = await f.status(container, bob.id, "#cats #dogs", tags=["cats", "dogs"])
    dogs = await f.status(container, bob.id, "#dogs", tags=["dogs"])
    await f.status(container, alice.id, "#cats quietly", tags=["cats"], visibility="unlisted")

    assert _ids(await client.get("/api/v1/timelines/tag/CATS")) == [both, cats]
    assert _ids(await client.get("/api/v1/timelines/tag/cats", params={"any[]": "dogs"})) == [dogs, both, cats]
    assert _ids(await client.get("/api/v1/timelines/tag/cats", params={"all[]": "Dogs"})) == [both]
    assert _ids(await client.get("/api/v1/timelines/tag/cats", params={"none[]": "dogs"})) == [cats]
    assert _ids(await client.get("/api/v1/timelines/tag/cats", params={"all[]": "unknown"})) == []
    assert _ids(await client.get("/api/v1/timelines/tag/nothing")) == []


async def test_account_statuses_and_filters(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, follower = await _actors(make_actor, "alice", "bob", "follower")
    await f.follow(container, follower.id, alice.id)
    first = await f.status(container, alice.id, "first", tags=["Topic"])
    reply_to_bob = await f.status(container, alice.id, "hi bob", in_reply_to=await f.status(container, bob.id))
    self_reply = await f.status(container, alice.id, "more", in_reply_to=first)
    reblog = await f.status(container, alice.id, reblog_of=await f.status(container, bob.id, "shared"))
    media = await f.status(container, alice.id, "photo", media=True)
    private = await f.status(container, alice.id, "followers only", visibility="private")
    url = f"/api/v1/accounts/{alice.id}/statuses"

    everything = [media, reblog, self_reply, reply_to_bob, first]
    assert _ids(await client.get(url)) == everything
    assert _ids(await client.get(url, headers=bob.headers)) == everything
    assert _ids(await client.get(url, headers=follower.headers)) == [private, *everything]
    assert _ids(await client.get(url, params={"exclude_replies": "true"})) == [media, reblog, self_reply, first]
    assert _ids(await client.get(url, params={"exclude_reblogs": "true"})) == [media, self_reply, reply_to_bob, first]
    assert _ids(await client.get(url, params={"only_media": "true"})) == [media]
    assert _ids(await client.get(url, params={"tagged": "topic"})) == [first]
    paged = await client.get(url, params={"limit": 2})
    assert _ids(paged) == [media, reblog]
    assert _ids(await client.get(_links(paged)["next"])) == [self_reply, reply_to_bob]


async def test_pinned_account_statuses_in_pin_order(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    (alice,) = await _actors(make_actor, "alice")
    older = await f.status(container, alice.id, "older")
    newer = await f.status(container, alice.id, "newer")
    await f.status(container, alice.id, "not pinned")
    await f.pin(container, alice.id, newer)
    await f.pin(container, alice.id, older)
    url = f"/api/v1/accounts/{alice.id}/statuses"
    assert _ids(await client.get(url, params={"pinned": "true"})) == [older, newer]
    body = (await client.get(url, params={"pinned": "true"}, headers=alice.headers)).json()
    assert [s["pinned"] for s in body] == [True, True]


async def test_account_statuses_of_unknown_or_suspended_account(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    (alice,) = await _actors(make_actor, "alice")
    await f.status(container, alice.id)
    assert (await client.get("/api/v1/accounts/123/statuses")).status_code == 404
    assert (await client.get("/api/v1/accounts/abc/statuses")).status_code == 404
    await f.suspend(container, alice.id)
    assert (await client.get(f"/api/v1/accounts/{alice.id}/statuses")).status_code == 404


async def test_post_follow_reblog_delete_and_unfollow_through_the_api(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice, bob, carol = await _actors(make_actor, "alice", "bob", "carol")

    async def post(actor: Actor, text: str) -> str:
        r = await client.post("/api/v1/statuses", json={"status": text}, headers=actor.headers)
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    async def home() -> list[str]:
        return [s["id"] for s in (await client.get("/api/v1/timelines/home", headers=bob.headers)).json()]

    early = await post(alice, "before the follow")
    assert (await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=bob.headers)).status_code == 200
    assert await home() == [early]
    hello = await post(alice, "hello #Starling")
    carols = await post(carol, "carol here")
    reblog = (await client.post(f"/api/v1/statuses/{carols}/reblog", headers=alice.headers)).json()["id"]
    assert await home() == [reblog, hello, early]

    assert [s["id"] for s in (await client.get("/api/v1/timelines/tag/starling")).json()] == [hello]
    found = await client.get("/api/v2/search", params={"q": "hello", "type": "statuses"}, headers=carol.headers)
    assert [s["id"] for s in found.json()["statuses"]] == [hello]

    assert (await client.delete(f"/api/v1/statuses/{hello}", headers=alice.headers)).status_code == 200
    assert await home() == [reblog, early]
    assert (await client.post(f"/api/v1/accounts/{alice.id}/unfollow", headers=bob.headers)).status_code == 200
    assert await home() == []
    notes = (await client.get("/api/v1/notifications", headers=carol.headers)).json()
    assert [(n["type"], n["status"]["id"]) for n in notes] == [("reblog", carols)]
