from __future__ import annotations

import httpx
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import User
from tests.conftest import MakeActor


async def test_preferences_come_from_the_user(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    r = await client.get("/api/v1/preferences", headers=alice.headers)
    assert r.status_code == 200
    assert r.json() == {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }
    async with unit_of_work(container.sessions) as session:
        await session.execute(
            update(User).where(User.id == alice.user_id)
            .values(default_privacy="unlisted", default_sensitive=True, default_language="de")
        )
    body = (await client.get("/api/v1/preferences", headers=alice.headers)).json()
    assert body["posting:default:visibility"] == "unlisted"
    assert body["posting:default:sensitive"] is True
    assert body["posting:default:language"] == "de"


async def test_preferences_need_read_accounts(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    assert (await client.get("/api/v1/preferences")).status_code == 401
    writer = await make_actor("writer", scopes="write")
    r = await client.get("/api/v1/preferences", headers=writer.headers)
    assert r.status_code == 403
    assert "error" in r.json()
    narrow = await make_actor("narrow", scopes="read:accounts")
    assert (await client.get("/api/v1/preferences", headers=narrow.headers)).status_code == 200
