from __future__ import annotations

import httpx

from tests.conftest import MakeActor


async def test_unknown_api_path_answers_mastodon_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing_here")
    assert r.status_code == 501
    assert "error" in r.json()


async def test_empty_list_endpoints(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/trends/tags")
    assert r.status_code == 200
    assert r.json() == []


async def test_actor_factory_tokens_are_stored(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    assert alice.id.isdigit()
