"""Posting, reading, editing and deleting statuses through the Mastodon API."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine, event, func, select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account, Job, Mention, Notification, Status, StatusTag, Tag
from tests.conftest import MakeActor
from tests.services.statuses.support import add_media, block, follow, post
from tests.web.mastodon.media_support import client_without_jobs

# Posting: encodings


async def test_post_json(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v1/statuses", json={"status": "Hello <world> & you"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["content"] == "<p>Hello &lt;world&gt; &amp; you</p>"
    assert data["account"]["id"] == alice.id
    assert data["visibility"] == "public"
    assert data["application"] == {"name": "tests", "website": None}
    assert data["favourited"] is False and data["pinned"] is False
    again = await client.get(f"/api/v1/statuses/{data['id']}")
    assert again.status_code == 200
    assert again.json()["content"] == data["content"]


async def test_post_form_with_media_ids_brackets(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    m1, m2 = await add_media(container, alice), await add_media(container, alice)
    r = await client.post(
        "/api/v1/statuses",
        data={"status": "two pictures", "media_ids[]": [m2, m1], "sensitive": "true"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert [m["id"] for m in data["media_attachments"]] == [m2, m1]
    assert data["sensitive"] is True


async def test_post_multipart(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.post(
        "/api/v1/statuses",
        files={"status": (None, "from a multipart form"), "visibility": (None, "unlisted")},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "<p>from a multipart form</p>"
    assert r.json()["visibility"] == "unlisted"


async def test_post_query_string(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v1/statuses", params={"status": "via query", "language": "de"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "<p>via query</p>"
    assert r.json()["language"] == "de"


async def test_post_media_only_without_text(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    media = await add_media(container, alice)
    r = await client.post("/api/v1/statuses", json={"media_ids": [media]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["content"] == ""
    assert len(r.json()["media_attachments"]) == 1


# Posting: validation


async def test_text_limit_counts_urls_as_23(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    url = "https://example.com/" + "a" * 200
    fits = url + " " + "x" * (500 - 23 - 1)
    assert len(fits) > 500
    r = await client.post("/api/v1/statuses", json={"status": fits}, headers=alice.headers)
    assert r.status_code == 200, r.text
    r = await client.post("/api/v1/statuses", json={"status": fits + "y"}, headers=alice.headers)
    assert r.status_code == 422
    assert r.json()["error"] == "Validation failed: Text character limit of 500 exceeded"
    r = await client.post("/api/v1/statuses", json={"status": "z" * 501}, headers=alice.headers)
    assert r.status_code == 422


async def test_blank_text_is_rejected(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for body in ({}, {"status": "   "}, {"status": ""}):
        r = await client.post("/api/v1/statuses", json=body, headers=alice.headers)
        assert r.status_code == 422, body
        assert "error" in r.json()


async def test_bad_input(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    h = {**alice.headers, "Content-Type": "application/json"}
    r = await client.post("/api/v1/statuses", content=b'{"status": "x"', headers=h)
    assert r.status_code == 400
    for body in (
        {"status": ["a", "list"]},
        {"status": "x", "sensitive": "maybe"},
        {"status": "x", "visibility": "everyone"},
        {"status": "x", "media_ids": ["not-an-id"]},
        {"status": "x", "media_ids": ["123456"]},
        {"status": "x", "poll": {"options": ["a", "b"], "expires_in": 600}},
        {"status": "x", "scheduled_at": "2099-01-01T00:00:00Z"},
    ):
        r = await client.post("/api/v1/statuses", json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"].startswith("Validation failed")
    bobs_media = await add_media(container, bob)
    r = await client.post("/api/v1/statuses", json={"status": "x", "media_ids": [bobs_media]}, headers=alice.headers)
    assert r.status_code == 422
    too_many = [await add_media(container, alice) for _ in range(5)]
    r = await client.post("/api/v1/statuses", json={"status": "x", "media_ids": too_many}, headers=alice.headers)
    assert r.status_code == 422
    busy = await add_media(container, alice, processing="processing")
    r = await client.post("/api/v1/statuses", json={"status": "x", "media_ids": [busy]}, headers=alice.headers)
    assert r.status_code == 422
    async with unit_of_work(container.sessions, write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Status)) == 0


async def test_posting_needs_a_write_token(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read")
    r = await client.post("/api/v1/statuses", json={"status": "hi"}, headers=reader.headers)
    assert r.status_code == 403
    r = await client.post("/api/v1/statuses", json={"status": "hi"})
    assert r.status_code == 401


async def test_media_cannot_be_attached_twice(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    media = await add_media(container, alice)
    await post(client, alice, "first", media_ids=[media])
    r = await client.post("/api/v1/statuses", json={"status": "second", "media_ids": [media]}, headers=alice.headers)
    assert r.status_code == 422


# Rendering: mentions, tags, links


async def test_mentions_hashtags_and_links(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    await make_actor("carol")
    data = await post(
        client, alice,
        "hi @bob and @Carol@testserver and @nobody and @dave@elsewhere.example #Starling #starling "
        "see https://example.com/page. @alice",
    )
    content = data["content"]
    assert '<a href="http://testserver/@bob" class="u-url mention">@<span>bob</span></a>' in content
    assert '<a href="http://testserver/@carol" class="u-url mention">@<span>Carol</span></a>' in content
    assert "@nobody" in content and "@dave@elsewhere.example" in content
    assert 'href="http://testserver/tags/starling"' in content
    assert '<a href="https://example.com/page"' in content and "</a>." in content
    assert sorted(m["username"] for m in data["mentions"]) == ["bob", "carol"]
    assert [t["name"] for t in data["tags"]] == ["Starling"]
    async with unit_of_work(container.sessions, write=False) as session:
        mentioned = set((await session.execute(select(Mention.account_id))).scalars())
        assert int(alice.id) not in mentioned
        assert int(bob.id) in mentioned
        notes = (await session.execute(select(Notification.account_id, Notification.type))).all()
        assert sorted(n.type for n in notes) == ["mention", "mention"]
        assert {n.account_id for n in notes} == mentioned


async def test_hashtags_are_shared_between_statuses(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    await post(client, alice, "#Python rocks")
    await post(client, alice, "more #python and #PYTHON")
    async with unit_of_work(container.sessions, write=False) as session:
        assert (await session.execute(select(Tag.name_lower))).scalars().all() == ["python"]
        assert await session.scalar(select(func.count()).select_from(StatusTag)) == 2


# Idempotency


async def test_idempotency_key_returns_the_same_status(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    h = {**alice.headers, "Idempotency-Key": "abc-123"}
    first = await client.post("/api/v1/statuses", json={"status": "once"}, headers=h)
    second = await client.post("/api/v1/statuses", json={"status": "once"}, headers=h)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other_key = await client.post(
        "/api/v1/statuses", json={"status": "once"}, headers={**alice.headers, "Idempotency-Key": "xyz"}
    )
    assert other_key.json()["id"] != first.json()["id"]
    same_key_other_account = await client.post(
        "/api/v1/statuses", json={"status": "once"}, headers={**bob.headers, "Idempotency-Key": "abc-123"}
    )
    assert same_key_other_account.json()["id"] != first.json()["id"]
    async with unit_of_work(container.sessions, write=False) as session:
        account = await session.get(Account, int(alice.id))
        assert account is not None and account.statuses_count == 2


async def test_failed_post_does_not_burn_the_idempotency_key(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    h = {**alice.headers, "Idempotency-Key": "k"}
    r = await client.post("/api/v1/statuses", json={"status": ""}, headers=h)
    assert r.status_code == 422
    r = await client.post("/api/v1/statuses", json={"status": "now with text"}, headers=h)
    assert r.status_code == 200
    assert r.json()["content"] == "<p>now with text</p>"


# Counters, defaults and jobs


async def test_counters_and_jobs(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    data = await post(client, alice, "count me")
    me = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    if me.status_code == 200:
        assert me.json()["statuses_count"] == 1
    async with unit_of_work(container.sessions, write=False) as session:
        account = await session.get(Account, int(alice.id))
        assert account is not None
        assert account.statuses_count == 1 and account.last_status_at is not None
        status = await session.get(Status, int(data["id"]))
        assert status is not None and status.conversation_id == status.id
        failed = (await session.execute(select(Job.kind, Job.last_error).where(Job.failed_at.is_not(None)))).all()
        assert failed == []


async def test_defaults_from_user_preferences(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        from starling.repositories.accounts import user_for_account

        user = await user_for_account(session, int(alice.id))
        assert user is not None
        user.default_privacy = "unlisted"
        user.default_language = "fr"
        user.default_sensitive = True
    data = await post(client, alice, "defaults")
    assert data["visibility"] == "unlisted"
    assert data["language"] == "fr"
    assert data["sensitive"] is True
    data = await post(client, alice, "explicit", visibility="public", language="en-GB", sensitive=False)
    assert (data["visibility"], data["language"], data["sensitive"]) == ("public", "en", False)
    data = await post(client, alice, "spoiled", spoiler_text="cw", sensitive=False)
    assert data["sensitive"] is True and data["spoiler_text"] == "cw"


# Visibility


async def test_private_post_is_hidden_from_non_followers(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    fan = await make_actor("fan")
    await follow(container, fan, alice)
    data = await post(client, alice, "followers only", visibility="private")
    sid = data["id"]
    assert (await client.get(f"/api/v1/statuses/{sid}", headers=alice.headers)).status_code == 200
    assert (await client.get(f"/api/v1/statuses/{sid}", headers=fan.headers)).status_code == 200
    hidden = await client.get(f"/api/v1/statuses/{sid}", headers=bob.headers)
    assert hidden.status_code == 404
    assert hidden.json() == {"error": "Record not found"}
    assert (await client.get(f"/api/v1/statuses/{sid}")).status_code == 404
    r = await client.get("/api/v1/statuses", params={"id[]": [sid]}, headers=bob.headers)
    assert r.json() == []


async def test_direct_post_is_seen_by_mentioned_only(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    eve = await make_actor("eve")
    data = await post(client, alice, "@bob psst", visibility="direct")
    assert (await client.get(f"/api/v1/statuses/{data['id']}", headers=bob.headers)).status_code == 200
    assert (await client.get(f"/api/v1/statuses/{data['id']}", headers=eve.headers)).status_code == 404


async def test_get_multiple_keeps_order_and_skips_invisible(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    one = await post(client, alice, "one")
    two = await post(client, alice, "two")
    secret = await post(client, alice, "secret", visibility="private")
    r = await client.get(
        "/api/v1/statuses", params=[("id[]", two["id"]), ("id[]", secret["id"]), ("id[]", "nope"), ("id[]", one["id"])]
    )
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == [two["id"], one["id"]]


async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for path in ("/api/v1/statuses/123", "/api/v1/statuses/abc", "/api/v1/statuses/123/context",
                 "/api/v1/statuses/123/history"):
        r = await client.get(path, headers=alice.headers)
        assert r.status_code == 404, path
    for path in ("/api/v1/statuses/123/favourite", "/api/v1/statuses/123/reblog", "/api/v1/statuses/123/bookmark"):
        r = await client.post(path, headers=alice.headers)
        assert r.status_code == 404, path


# Replies and context


async def test_reply_links_and_counts(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    root = await post(client, alice, "root")
    reply = await post(client, bob, "@alice reply", in_reply_to_id=root["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == alice.id
    parent = (await client.get(f"/api/v1/statuses/{root['id']}")).json()
    assert parent["replies_count"] == 1
    nested = await post(client, alice, "nested", in_reply_to_id=reply["id"])
    async with unit_of_work(container.sessions, write=False) as session:
        rows = (await session.execute(select(Status.id, Status.conversation_id))).all()
        assert {c for _, c in rows} == {int(root["id"])}
        assert len(rows) == 3
    assert nested["in_reply_to_account_id"] == bob.id
    continued = await post(client, alice, "and more", in_reply_to_id=nested["id"])
    assert continued["in_reply_to_id"] == nested["id"]
    assert continued["in_reply_to_account_id"] == bob.id
    own_thread = await post(client, alice, "1/2", in_reply_to_id=root["id"])
    assert own_thread["in_reply_to_account_id"] == alice.id


async def test_reply_to_missing_deleted_or_invisible_is_404(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    r = await client.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": "999"}, headers=bob.headers)
    assert r.status_code == 404
    r = await client.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": "zz"}, headers=bob.headers)
    assert r.status_code == 404
    gone = await post(client, alice, "soon gone")
    assert (await client.delete(f"/api/v1/statuses/{gone['id']}", headers=alice.headers)).status_code == 200
    r = await client.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": gone["id"]}, headers=bob.headers)
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}
    private = await post(client, alice, "private", visibility="private")
    r = await client.post(
        "/api/v1/statuses", json={"status": "x", "in_reply_to_id": private["id"]}, headers=bob.headers
    )
    assert r.status_code == 404
    public = await post(client, alice, "public")
    await block(container, alice, bob)
    r = await client.post("/api/v1/statuses", json={"status": "x", "in_reply_to_id": public["id"]}, headers=bob.headers)
    assert r.status_code == 404


async def test_context_order_and_visibility(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    eve = await make_actor("eve")
    root = await post(client, alice, "root")
    a = await post(client, bob, "a", in_reply_to_id=root["id"])
    b = await post(client, alice, "b", in_reply_to_id=root["id"])
    a1 = await post(client, alice, "a1", in_reply_to_id=a["id"])
    a1x = await post(client, bob, "a1x", in_reply_to_id=a1["id"])
    a2 = await post(client, eve, "a2", in_reply_to_id=a["id"])
    hidden = await post(client, alice, "hidden", in_reply_to_id=b["id"], visibility="private")

    r = await client.get(f"/api/v1/statuses/{root['id']}/context", headers=bob.headers)
    assert r.status_code == 200
    ctx = r.json()
    assert ctx["ancestors"] == []
    assert [s["id"] for s in ctx["descendants"]] == [a["id"], a1["id"], a1x["id"], a2["id"], b["id"]]

    r = await client.get(f"/api/v1/statuses/{root['id']}/context", headers=alice.headers)
    assert [s["id"] for s in r.json()["descendants"]][-1] == hidden["id"]

    r = await client.get(f"/api/v1/statuses/{a1x['id']}/context")
    ctx = r.json()
    assert [s["id"] for s in ctx["ancestors"]] == [root["id"], a["id"], a1["id"]]
    assert ctx["descendants"] == []


# Edit, history, source


async def test_edit_history_and_source(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    data = await post(client, alice, "first version #one", spoiler_text="cw1")
    sid = data["id"]
    history = (await client.get(f"/api/v1/statuses/{sid}/history")).json()
    assert len(history) == 1
    assert history[0]["content"] == data["content"]
    assert history[0]["content"].startswith('<p>first version <a href="http://testserver/tags/one"')

    r = await client.put(
        f"/api/v1/statuses/{sid}", json={"status": "second version @bob #two", "language": "fr"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["edited_at"] is not None
    assert "second version" in edited["content"]
    assert [m["username"] for m in edited["mentions"]] == ["bob"]
    assert [t["name"] for t in edited["tags"]] == ["two"]
    assert edited["spoiler_text"] == "" and edited["language"] == "fr"

    r = await client.put(f"/api/v1/statuses/{sid}", data={"status": "third"}, headers=alice.headers)
    assert r.status_code == 200

    history = (await client.get(f"/api/v1/statuses/{sid}/history")).json()
    assert [h["content"][:12] for h in history] == ["<p>first ver", "<p>second ve", "<p>third</p>"]
    assert history[0]["spoiler_text"] == "cw1" and history[0]["sensitive"] is True
    assert history[0]["created_at"] == data["created_at"]
    assert all(h["account"]["id"] == alice.id for h in history)
    assert {"media_attachments", "emojis", "poll"} <= set(history[0])

    source = await client.get(f"/api/v1/statuses/{sid}/source", headers=alice.headers)
    assert source.json() == {"id": sid, "text": "third", "spoiler_text": ""}


async def test_edit_media_and_rules(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    m1, m2 = await add_media(container, alice), await add_media(container, alice)
    data = await post(client, alice, "pics", media_ids=[m1])
    sid = data["id"]
    r = await client.put(f"/api/v1/statuses/{sid}", json={"status": "pics", "media_ids": [m2, m1]},
                         headers=alice.headers)
    assert [m["id"] for m in r.json()["media_attachments"]] == [m2, m1]
    r = await client.put(f"/api/v1/statuses/{sid}", json={"status": "no pics"}, headers=alice.headers)
    assert r.json()["media_attachments"] == []
    history = (await client.get(f"/api/v1/statuses/{sid}/history")).json()
    assert [len(h["media_attachments"]) for h in history] == [1, 2, 0]
    r = await client.put(f"/api/v1/statuses/{sid}", json={"status": "x" * 501}, headers=alice.headers)
    assert r.status_code == 422
    r = await client.put(f"/api/v1/statuses/{sid}", json={"status": ""}, headers=alice.headers)
    assert r.status_code == 422
    r = await client.put(f"/api/v1/statuses/{sid}", json={"status": "mine now"}, headers=bob.headers)
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/statuses/{sid}")).json()["content"] == "<p>no pics</p>"


async def test_edit_notifies_rebloggers(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "boost me")
    assert (await client.post(f"/api/v1/statuses/{data['id']}/reblog", headers=bob.headers)).status_code == 200
    await client.put(f"/api/v1/statuses/{data['id']}", json={"status": "boost me (fixed)"}, headers=alice.headers)
    async with unit_of_work(container.sessions, write=False) as session:
        types = (
            await session.execute(select(Notification.type).where(Notification.account_id == int(bob.id)))
        ).scalars().all()
        assert types == ["update"]


async def test_source_is_404_for_invisible(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    data = await post(client, alice, "secret", visibility="private")
    assert (await client.get(f"/api/v1/statuses/{data['id']}/source", headers=bob.headers)).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{data['id']}/source")).status_code == 401


# Delete


async def test_delete_returns_source_and_removes_reblogs(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    media = await add_media(container, alice)
    root = await post(client, alice, "root")
    data = await post(client, alice, "bye @bob #tag", in_reply_to_id=root["id"], media_ids=[media])
    reblog = (await client.post(f"/api/v1/statuses/{data['id']}/reblog", headers=bob.headers)).json()
    assert (await client.post(f"/api/v1/statuses/{data['id']}/favourite", headers=bob.headers)).status_code == 200
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 1

    other = await client.delete(f"/api/v1/statuses/{data['id']}", headers=bob.headers)
    assert other.status_code == 404

    r = await client.delete(f"/api/v1/statuses/{data['id']}", headers=alice.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == data["id"]
    assert body["text"] == "bye @bob #tag"
    assert [m["id"] for m in body["media_attachments"]] == [media]
    assert [m["username"] for m in body["mentions"]] == ["bob"]

    assert (await client.get(f"/api/v1/statuses/{data['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{reblog['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/statuses/{root['id']}")).json()["replies_count"] == 0
    async with unit_of_work(container.sessions, write=False) as session:
        a = await session.get(Account, int(alice.id))
        b = await session.get(Account, int(bob.id))
        assert a is not None and b is not None
        assert (a.statuses_count, b.statuses_count) == (1, 0)
        assert await session.scalar(select(func.count()).select_from(Mention)) == 0
        kinds = (await session.execute(select(Job.kind, Job.failed_at))).all()
        assert all(failed is None for _, failed in kinds)
    redraft = await post(client, alice, "redraft", media_ids=[media])
    assert [m["id"] for m in redraft["media_attachments"]] == [media]
    assert (await client.delete(f"/api/v1/statuses/{data['id']}", headers=alice.headers)).status_code == 404


async def test_delete_with_delete_media(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    media = await add_media(container, alice)
    data = await post(client, alice, "bye", media_ids=[media])
    r = await client.delete(f"/api/v1/statuses/{data['id']}", params={"delete_media": "true"}, headers=alice.headers)
    assert r.status_code == 200
    r = await client.post("/api/v1/statuses", json={"status": "again", "media_ids": [media]}, headers=alice.headers)
    assert r.status_code == 422


# The answer to a post is made from what posting had in hand, with no query after the commit


def _normalised(status: dict[str, Any]) -> dict[str, Any]:
    """A status with its mentions and tags in id/name order: loading them back gives the database's order."""
    return {**status, "mentions": sorted(status["mentions"], key=lambda m: m["id"]),
            "tags": sorted(status["tags"], key=lambda t: t["name"])}


async def test_the_answer_to_a_post_is_the_status_as_loaded_later(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice, bob, carol = await make_actor("alice"), await make_actor("bob"), await make_actor("carol")
    first = await client.post("/api/v1/statuses", json={"status": "root #First"}, headers=bob.headers)
    assert first.status_code == 200, first.text
    m1, m2 = await add_media(container, alice), await add_media(container, alice)
    bodies: list[dict[str, object]] = [
        {"status": "plain words"},
        {"status": "hi @carol and @bob, #Tagged #another #tagged", "language": "en"},
        {"status": "@bob replying", "in_reply_to_id": first.json()["id"], "visibility": "unlisted"},
        {"status": "two pictures", "media_ids": [m2, m1], "sensitive": True, "spoiler_text": "careful"},
        {"status": "just us @carol", "visibility": "direct"},
        {"status": "friends only", "visibility": "private"},
    ]
    for body in bodies:
        posted = await client.post("/api/v1/statuses", json=body, headers=alice.headers)
        assert posted.status_code == 200, posted.text
        loaded = await client.get(f"/api/v1/statuses/{posted.json()['id']}", headers=alice.headers)
        assert loaded.status_code == 200, loaded.text
        assert _normalised(posted.json()) == _normalised(loaded.json()), body
    tagged = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert tagged["statuses_count"] == 5  # the direct one does not count, as in Mastodon
    assert carol.id  # mentioned twice above


async def test_the_answer_to_a_post_lists_mentions_and_tags_in_the_order_written(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    alice = await make_actor("alice")
    for name in ("zed", "amy", "kim"):
        await make_actor(name)
    r = await client.post("/api/v1/statuses", json={"status": "@zed @amy @kim #Zulu #alpha #Mike"},
                          headers=alice.headers)
    assert r.status_code == 200, r.text
    assert [m["username"] for m in r.json()["mentions"]] == ["zed", "amy", "kim"]
    assert [t["name"] for t in r.json()["tags"]] == ["Zulu", "alpha", "Mike"]


async def test_a_post_runs_no_query_after_its_commit(make_actor: MakeActor, container: Container) -> None:
    """Each round trip after the commit would make the poster wait again for a busy process. (No job runs
    in this app, so every statement seen is the request's.)"""
    alice = await make_actor("alice")
    await make_actor("bob")
    seen: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(" ".join(statement.split()))

    def commit(_conn: object) -> None:
        seen.append("COMMIT")

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "commit", commit)
    try:
        async with client_without_jobs(container) as client:
            r = await client.post("/api/v1/statuses", json={"status": "hello @bob #quiet"}, headers=alice.headers)
    finally:
        event.remove(Engine, "before_cursor_execute", before)
        event.remove(Engine, "commit", commit)
    assert r.status_code == 200, r.text
    assert r.json()["mentions"][0]["username"] == "bob" and r.json()["tags"][0]["name"] == "quiet"
    writes = [i for i, sql in enumerate(seen) if sql.startswith("INSERT INTO statuses ")]
    assert len(writes) == 1
    after = seen[seen.index("COMMIT", writes[0]) + 1:]
    assert after == [], after
