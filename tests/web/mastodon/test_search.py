from __future__ import annotations

import httpx
import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import User
from tests.conftest import Actor, MakeActor
from tests.support import factories as f


async def _actors(make_actor: MakeActor, *names: str) -> list[Actor]:
    return [await make_actor(n) for n in names]


async def _search(client: httpx.AsyncClient, actor: Actor | None, **params: str) -> dict[str, list[dict[str, object]]]:
    r = await client.get("/api/v2/search", params=params, headers=actor.headers if actor else {})
    assert r.status_code == 200, r.text
    body: dict[str, list[dict[str, object]]] = r.json()
    assert set(body) == {"accounts", "statuses", "hashtags"}
    return body


def _ids(items: list[dict[str, object]]) -> list[str]:
    return [str(i["id"]) for i in items]


async def test_accounts_by_username_display_name_and_acct(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, alfred, bob = await _actors(make_actor, "alice", "alfred", "bob")
    remote = await f.remote_account(container, "alice", "elsewhere.example")
    await f.update_account(container, bob.id, display_name="Bob the Builder")

    found = await _search(client, None, q="al", type="accounts")
    assert set(_ids(found["accounts"])) == {alice.id, alfred.id, str(remote)}
    exact = await _search(client, None, q="alice", type="accounts")
    assert _ids(exact["accounts"])[0] == alice.id
    assert _ids((await _search(client, None, q="@alice@elsewhere.example"))["accounts"]) == [str(remote)]
    assert _ids((await _search(client, None, q="alice@testserver"))["accounts"]) == [alice.id]
    assert _ids((await _search(client, None, q="builder", type="accounts"))["accounts"]) == [bob.id]
    assert _ids((await _search(client, None, q="bob the"))["accounts"]) == [bob.id]


async def test_account_search_following_blocks_and_v1(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    viewer, anna, annie, anton = await _actors(make_actor, "viewer", "anna", "annie", "anton")
    await f.follow(container, viewer.id, annie.id)
    await f.block(container, anton.id, viewer.id)
    pending = await make_actor("anders")
    await f.suspend(container, (await make_actor("anselm")).id)
    async with unit_of_work(container.sessions) as session:
        user = await session.get(User, pending.user_id)
        assert user is not None
        user.approved = False
    ids = _ids((await _search(client, viewer, q="an", type="accounts"))["accounts"])
    assert ids == [annie.id, anna.id]
    following = await _search(client, viewer, q="an", type="accounts", following="true")
    assert _ids(following["accounts"]) == [annie.id]

    v1 = await client.get("/api/v1/accounts/search", params={"q": "an", "limit": 1}, headers=viewer.headers)
    assert v1.status_code == 200
    assert _ids(v1.json()) == [annie.id]
    second = await client.get("/api/v1/accounts/search", params={"q": "an", "offset": 1}, headers=viewer.headers)
    assert _ids(second.json()) == [anna.id]
    assert (await client.get("/api/v1/accounts/search")).status_code == 422
    assert (await client.get("/api/v1/accounts/search", params={"q": "an", "offset": 1})).status_code == 401


async def test_hashtags_by_prefix(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    (alice,) = await _actors(make_actor, "alice")
    await f.status(container, alice.id, "#catsofstarling", tags=["CatsOfStarling"])
    await f.status(container, alice.id, "#cats", tags=["cats"])
    await f.status(container, alice.id, "#dogs", tags=["dogs"])
    tags = (await _search(client, None, q="#CAT"))["hashtags"]
    assert [t["name"] for t in tags] == ["cats", "CatsOfStarling"]
    assert tags[0]["url"] == "http://testserver/tags/cats"
    assert tags[0]["history"] == []
    assert str(tags[0]["id"]).isdigit()
    by_type = (await _search(client, None, q="cats", type="hashtags"))["hashtags"]
    assert [t["name"] for t in by_type] == ["cats", "CatsOfStarling"]
    assert (await _search(client, None, q="cats", type="accounts"))["hashtags"] == []


async def test_statuses_by_full_text_only_when_signed_in(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    alice, bob, follower, stranger = await _actors(make_actor, "alice", "bob", "follower", "stranger")
    await f.follow(container, follower.id, alice.id)
    public = await f.status(container, alice.id, "The quick brown fox jumps")
    private = await f.status(container, alice.id, "A private fox story", visibility="private")
    warned = await f.status(container, bob.id, "hidden text", spoiler_text="fox spoiler")
    await f.status(container, bob.id, "nothing relevant here")
    await f.status(container, bob.id, reblog_of=public)

    assert (await _search(client, None, q="fox"))["statuses"] == []
    assert _ids((await _search(client, stranger, q="fox"))["statuses"]) == [str(warned), str(public)]
    assert _ids((await _search(client, follower, q="fox"))["statuses"]) == [
        str(warned), str(private), str(public)]
    assert _ids((await _search(client, alice, q="FOX quick", type="statuses"))["statuses"]) == [str(public)]
    by_bob = await _search(client, follower, q="fox", type="statuses", account_id=bob.id)
    assert _ids(by_bob["statuses"]) == [str(warned)]
    paged = await _search(client, follower, q="fox", type="statuses", limit="1", offset="1")
    assert _ids(paged["statuses"]) == [str(private)]
    older = await _search(client, follower, q="fox", type="statuses", max_id=str(private))
    assert _ids(older["statuses"]) == [str(public)]

    await f.block(container, stranger.id, bob.id)
    assert _ids((await _search(client, stranger, q="fox"))["statuses"]) == [str(public)]


@pytest.mark.parametrize("q", ['"a AND (', "NEAR(", '*', "a OR", '"', "))) ((", "fox -", "col:fox", "^fox", "🦊"])
async def test_search_syntax_characters_never_fail(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, q: str
) -> None:
    (alice,) = await _actors(make_actor, "alice")
    await f.status(container, alice.id, "a fox AND more")
    body = await _search(client, alice, q=q)
    assert isinstance(body["statuses"], list)


async def test_search_parameters_are_checked(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    assert (await client.get("/api/v2/search")).status_code == 422
    assert (await client.get("/api/v2/search", params={"q": "  "})).status_code == 422
    assert (await client.get("/api/v2/search", params={"q": "a", "type": "accounts", "offset": "5"})).status_code \
        == 401
    assert (await client.get("/api/v2/search", params={"q": "a", "resolve": "true"})).status_code == 401
    bad = await client.get("/api/v2/search", params={"q": "a", "limit": "x"}, headers=alice.headers)
    assert bad.status_code == 422
    other = await _search(client, alice, q="alice", type="unknown")
    assert other == {"accounts": [], "statuses": [], "hashtags": []}
