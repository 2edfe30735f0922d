from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeActor


async def test_create_app_returns_credential_application(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/apps",
        json={"client_name": "Pinafore", "redirect_uris": "https://app.example/cb", "scopes": "read write push",
              "website": "https://app.example"},
    )
    assert r.status_code == 200
    app = r.json()
    assert app["name"] == "Pinafore"
    assert app["website"] == "https://app.example"
    assert app["scopes"] == ["read", "write", "push"]
    assert app["redirect_uri"] == "https://app.example/cb"
    assert app["redirect_uris"] == ["https://app.example/cb"]
    assert app["client_secret_expires_at"] == 0
    assert app["vapid_key"] == ""
    assert app["id"].isdigit()
    assert len(app["client_id"]) >= 32 and len(app["client_secret"]) >= 32
    assert app["client_id"] != app["client_secret"]


async def test_scopes_default_to_read(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    assert r.status_code == 200
    assert r.json()["scopes"] == ["read"]
    assert r.json()["website"] is None


async def test_several_redirect_uris_as_lines_or_list(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/apps",
        json={"client_name": "x", "redirect_uris": "https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob\ncom.example.app:/cb"},
    )
    assert r.status_code == 200
    assert r.json()["redirect_uris"] == ["https://a.example/cb", "urn:ietf:wg:oauth:2.0:oob", "com.example.app:/cb"]
    assert r.json()["redirect_uri"] == "https://a.example/cb\nurn:ietf:wg:oauth:2.0:oob\ncom.example.app:/cb"

    r = await client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": ["https://a.example/1", "myapp://cb"]})
    assert r.status_code == 200
    assert r.json()["redirect_uris"] == ["https://a.example/1", "myapp://cb"]

    r = await client.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris[]": ["https://b.example/1", "https://b.example/2"]}
    )
    assert r.status_code == 200
    assert r.json()["redirect_uris"] == ["https://b.example/1", "https://b.example/2"]


@pytest.mark.parametrize(
    "body",
    [
        {"client_name": "x", "redirect_uris": "https://a.example/cb", "scopes": "read fly"},
        {"client_name": "x", "redirect_uris": "/relative/path"},
        {"client_name": "x", "redirect_uris": "https://a.example/cb#fragment"},
        {"client_name": "x", "redirect_uris": "javascript:alert(1)"},
        {"client_name": "x", "redirect_uris": "https:///no-host"},
        {"client_name": "x"},
        {"redirect_uris": "https://a.example/cb"},
        {"client_name": "x" * 61, "redirect_uris": "https://a.example/cb"},
        {"client_name": "x", "redirect_uris": "https://a.example/cb", "website": "not a url"},
        {"client_name": "x", "redirect_uris": 5},
    ],
)
async def test_invalid_apps_are_refused(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await client.post("/api/v1/apps", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("Validation failed")


async def test_verify_credentials_with_app_token(client: httpx.AsyncClient) -> None:
    app = (await client.post("/api/v1/apps", json={"client_name": "Toot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                    "scopes": "read write"})).json()
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                "client_secret": app["client_secret"]})
    token = r.json()["access_token"]
    r = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Toot"
    assert body["scopes"] == ["read", "write"]
    assert body["redirect_uris"] == ["urn:ietf:wg:oauth:2.0:oob"]
    assert "client_secret" not in body and "client_id" not in body


async def test_verify_credentials_with_user_token(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice", scopes="write:statuses")
    r = await client.get("/api/v1/apps/verify_credentials", headers=alice.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "tests"


async def test_verify_credentials_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/apps/verify_credentials")).status_code == 401
    r = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["error"] == "The access token is invalid"
