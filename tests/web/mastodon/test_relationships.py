from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Account
from starling.models.base import utcnow
from tests.conftest import MakeActor

FIELDS = {
    "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking", "blocked_by",
    "muting", "muting_notifications", "muting_expires_at", "requested", "requested_by", "domain_blocking",
    "endorsed", "note",
}


@contextmanager
def count_queries(container: Container) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = container.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_relationships_for_several_accounts(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me")
    friend = await make_actor("friend")
    fan = await make_actor("fan")
    locked = await make_actor("locked", locked=True)
    pest = await make_actor("pest")
    quiet = await make_actor("quiet")
    stranger = await make_actor("stranger")

    await client.post(f"/api/v1/accounts/{friend.id}/follow", headers=me.headers, json={"reblogs": False})
    await client.post(f"/api/v1/accounts/{me.id}/follow", headers=friend.headers)
    await client.post(f"/api/v1/accounts/{me.id}/follow", headers=fan.headers)
    await client.post(f"/api/v1/accounts/{locked.id}/follow", headers=me.headers, json={"notify": True})
    await client.post(f"/api/v1/accounts/{pest.id}/block", headers=me.headers)
    await client.post(f"/api/v1/accounts/{me.id}/block", headers=stranger.headers)
    await client.post(f"/api/v1/accounts/{quiet.id}/mute", headers=me.headers, json={"notifications": False})

    ids = [friend.id, fan.id, locked.id, pest.id, quiet.id, stranger.id]
    query = "&".join(f"id[]={i}" for i in ids)
    r = await client.get(f"/api/v1/accounts/relationships?{query}", headers=me.headers)
    assert r.status_code == 200
    rels = {rel["id"]: rel for rel in r.json()}
    assert [rel["id"] for rel in r.json()] == ids
    for rel in rels.values():
        assert set(rel) == FIELDS
        assert rel["note"] == ""
        assert rel["domain_blocking"] is False
        assert rel["endorsed"] is False

    assert rels[friend.id]["following"] is True
    assert rels[friend.id]["followed_by"] is True
    assert rels[friend.id]["showing_reblogs"] is False
    assert rels[fan.id]["following"] is False
    assert rels[fan.id]["followed_by"] is True
    assert rels[locked.id]["requested"] is True
    assert rels[locked.id]["following"] is False
    assert rels[locked.id]["notifying"] is True
    assert rels[pest.id]["blocking"] is True
    assert rels[pest.id]["blocked_by"] is False
    assert rels[stranger.id]["blocked_by"] is True
    assert rels[stranger.id]["blocking"] is False
    assert rels[quiet.id]["muting"] is True
    assert rels[quiet.id]["muting_notifications"] is False
    assert rels[quiet.id]["muting_expires_at"] is None


async def test_relationships_accepts_single_id_and_skips_unknown(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    me = await make_actor("me")
    other = await make_actor("other")
    r = await client.get(f"/api/v1/accounts/relationships?id={other.id}", headers=me.headers)
    assert [rel["id"] for rel in r.json()] == [other.id]
    r = await client.get(
        f"/api/v1/accounts/relationships?id[]=123&id[]=abc&id[]={other.id}&id[]={other.id}", headers=me.headers
    )
    assert r.status_code == 200
    assert [rel["id"] for rel in r.json()] == [other.id]
    r = await client.get("/api/v1/accounts/relationships", headers=me.headers)
    assert r.json() == []


async def test_relationships_with_suspended(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    me = await make_actor("me")
    gone = await make_actor("gone")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(gone.id)).values(suspended_at=utcnow()))
    r = await client.get(f"/api/v1/accounts/relationships?id[]={gone.id}", headers=me.headers)
    assert r.json() == []
    r = await client.get(f"/api/v1/accounts/relationships?id[]={gone.id}&with_suspended=true", headers=me.headers)
    assert [rel["id"] for rel in r.json()] == [gone.id]


async def test_relationships_load_in_a_fixed_number_of_queries(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    me = await make_actor("me")
    others = [await make_actor(f"other{i}") for i in range(8)]
    for other in others[:4]:
        await client.post(f"/api/v1/accounts/{other.id}/follow", headers=me.headers)
        await client.post(f"/api/v1/accounts/{me.id}/follow", headers=other.headers)

    async def queries_for(n: int) -> int:
        query = "&".join(f"id[]={o.id}" for o in others[:n])
        with count_queries(container) as seen:
            r = await client.get(f"/api/v1/accounts/relationships?{query}", headers=me.headers)
        assert r.status_code == 200
        assert len(r.json()) == n
        return len(seen)

    assert await queries_for(1) == await queries_for(8)


async def test_relationships_need_a_token_with_read_follows(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    me = await make_actor("me", scopes="write")
    assert (await client.get("/api/v1/accounts/relationships?id[]=1", headers=me.headers)).status_code == 403
    assert (await client.get("/api/v1/accounts/relationships?id[]=1")).status_code == 401
    reader = await make_actor("reader", scopes="read:follows")
    assert (await client.get("/api/v1/accounts/relationships?id[]=1", headers=reader.headers)).status_code == 200
