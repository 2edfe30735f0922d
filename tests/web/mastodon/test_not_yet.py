from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/conversations"),
        ("POST", "/api/v1/reports"),
        ("PUT", "/api/v1/filters/1"),
        ("DELETE", "/api/v1/filters/1"),
        ("PATCH", "/api/v1/profile"),
        ("GET", "/api/v2/filters/"),
    ],
)
async def test_unimplemented_paths_answer_501_in_mastodon_shape(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    r = await client.request(method, path)
    assert r.status_code == 501
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert list(body) == ["error"]
    assert body["error"] == f"{method} {path.rstrip('/')} is not implemented on this server yet"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/trends",
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
        "/api/v1/suggestions",
        "/api/v2/suggestions",
        "/api/v1/announcements",
    ],
)
async def test_honest_empty_lists(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 200
    assert r.json() == []


async def test_empty_list_paths_only_answer_get(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/trends")
    assert r.status_code == 501


async def test_unknown_api_version_is_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v9/anything")
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}


async def test_served_path_with_trailing_slash_is_redirected(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/instance/", params={"x": "1"})
    assert r.status_code == 308
    assert r.headers["location"] == "http://testserver/api/v1/instance?x=1"
    followed = await client.get("/api/v1/instance/", follow_redirects=True)
    assert followed.status_code == 200
    assert followed.json()["uri"] == "testserver"


async def test_activity_api_is_off_as_on_mastodon(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/instance/activity")
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}
