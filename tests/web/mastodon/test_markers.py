from __future__ import annotations

import httpx

from tests.conftest import MakeActor


async def test_markers_start_empty_and_move_with_versions(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    h = alice.headers
    url = "/api/v1/markers"
    assert (await client.get(url, params={"timeline[]": ["home", "notifications"]}, headers=h)).json() == {}

    created = await client.post(url, json={"home": {"last_read_id": "100"}}, headers=h)
    assert created.status_code == 200
    home = created.json()["home"]
    assert home["last_read_id"] == "100"
    assert home["version"] == 0
    assert home["updated_at"].endswith("Z")

    moved = await client.post(url, data={"home[last_read_id]": "200", "notifications[last_read_id]": "7"}, headers=h)
    assert moved.json()["home"]["version"] == 1
    assert moved.json()["notifications"] == {**moved.json()["notifications"], "last_read_id": "7", "version": 0}
    same = await client.post(url, json={"home": {"last_read_id": "200"}}, headers=h)
    assert same.json()["home"]["version"] == 1

    both = (await client.get(url, params={"timeline[]": ["home", "notifications"]}, headers=h)).json()
    assert set(both) == {"home", "notifications"}
    assert both["home"]["last_read_id"] == "200"
    only_home = (await client.get(url, params={"timeline[]": "home"}, headers=h)).json()
    assert set(only_home) == {"home"}


async def test_markers_are_per_account_and_validated(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice, bob = await make_actor("alice"), await make_actor("bob")
    await client.post("/api/v1/markers", json={"home": {"last_read_id": "5"}}, headers=alice.headers)
    assert (await client.get("/api/v1/markers?timeline[]=home", headers=bob.headers)).json() == {}
    bad = await client.post("/api/v1/markers", json={"home": {"last_read_id": "abc"}}, headers=alice.headers)
    assert bad.status_code == 422
    blank = await client.post("/api/v1/markers", json={"home": {}}, headers=alice.headers)
    assert blank.status_code == 422
    assert (await client.post("/api/v1/markers", json={}, headers=alice.headers)).json() == {}
    assert (await client.get("/api/v1/markers")).status_code == 401
