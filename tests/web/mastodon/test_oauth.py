from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import AuthorizationCode, User
from starling.models.base import utcnow
from tests.conftest import MakeActor
from tests.web.html.pages import (
    authorize_through_pages,
    consent,
    create_app,
    pkce_pair,
    query_of,
    sign_in,
)

PASSWORD = "correct horse battery"
CALLBACK = "https://app.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorize_params(app: dict[str, Any], **extra: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": str(app["client_id"]), "redirect_uri": CALLBACK,
              "scope": "read write", "state": "xyz-123"}
    params.update(extra)
    return params


async def exchange(client: httpx.AsyncClient, app: dict[str, Any], code: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"], "redirect_uri": CALLBACK}
    data.update(extra)
    return await client.post("/oauth/token", data=data)


async def get_code(
    client: httpx.AsyncClient, app: dict[str, Any], login: str = "alice", **extra: str
) -> str:
    r = await authorize_through_pages(client, authorize_params(app, **extra), login, PASSWORD)
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(CALLBACK + "?")
    query = query_of(r.headers["location"])
    assert query["state"] == "xyz-123"
    return query["code"]


async def test_authorization_code_flow_with_pkce(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    app = await create_app(client)
    verifier, challenge = pkce_pair()
    params = authorize_params(app, code_challenge=challenge, code_challenge_method="S256")

    r = await client.get("/oauth/authorize", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Test app" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    r = await sign_in(client, r.text, "alice", PASSWORD)
    assert r.status_code == 303
    r = await client.get(r.headers["location"])
    assert "Authorization required" in r.text and "@alice" in r.text
    assert "read" in r.text and "write" in r.text
    r = await consent(client, r.text)
    assert r.status_code == 302
    query = query_of(r.headers["location"])
    assert query["state"] == "xyz-123"

    r = await exchange(client, app, query["code"], code_verifier=verifier)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert isinstance(body["created_at"], int)
    assert r.headers["cache-control"] == "no-store"

    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"]))
    assert r.status_code == 200
    assert r.json()["id"] == alice.id
    assert r.json()["username"] == "alice"


async def test_code_is_single_use(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    code = await get_code(client, app)
    assert (await exchange(client, app, code)).status_code == 200
    r = await exchange(client, app, code)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    assert "error_description" in r.json()


async def test_pkce_verifier_must_match(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    verifier, challenge = pkce_pair()
    code = await get_code(client, app, code_challenge=challenge, code_challenge_method="S256")
    r = await exchange(client, app, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = await exchange(client, app, code, code_verifier=pkce_pair()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await exchange(client, app, code, code_verifier=verifier)
    assert r.status_code == 200


async def test_verifier_without_challenge_is_refused(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    code = await get_code(client, app)
    r = await exchange(client, app, code, code_verifier=pkce_pair()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_code_exchange_checks_client_and_redirect_uri(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    other = await create_app(client)
    code = await get_code(client, app)
    r = await exchange(client, app, code, redirect_uri="https://app.example/other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await exchange(client, app, code, client_secret="wrong")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")
    r = await exchange(client, other, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await exchange(client, app, code)
    assert r.status_code == 200


async def test_expired_code_is_refused(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    await make_actor("alice")
    app = await create_app(client)
    code = await get_code(client, app)
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(AuthorizationCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await exchange(client, app, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_client_authentication_with_http_basic_and_json_body(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    await make_actor("alice")
    app = await create_app(client)
    code = await get_code(client, app)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    r = await client.post(
        "/oauth/token",
        json={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read write"


async def test_out_of_band_flow_shows_the_code(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client, redirect_uris=OOB)
    params = {"response_type": "code", "client_id": str(app["client_id"]), "redirect_uri": OOB, "scope": "read"}
    r = await authorize_through_pages(client, params, "alice", PASSWORD)
    assert r.status_code == 200
    match = re.search(r'id="code"[^>]*value="([^"]+)"', r.text)
    assert match, r.text
    code = match.group(1)
    r = await client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                "client_id": app["client_id"], "client_secret": app["client_secret"],
                                                "redirect_uri": OOB})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read"


async def test_deny_redirects_with_access_denied(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    r = await client.get("/oauth/authorize", params=authorize_params(app))
    r = await sign_in(client, r.text, "alice@example.com", PASSWORD)
    r = await client.get(r.headers["location"])
    r = await consent(client, r.text, decision="deny")
    assert r.status_code == 302
    query = query_of(r.headers["location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "xyz-123"
    assert "code" not in query


async def test_unknown_client_or_redirect_uri_is_shown_not_redirected(
    client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    app = await create_app(client)
    r = await client.get("/oauth/authorize", params=authorize_params(app, client_id="nope"))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "text/html" in r.headers["content-type"]
    r = await client.get("/oauth/authorize", params=authorize_params(app, redirect_uri="https://evil.example/cb"))
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "evil.example" not in r.text


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"scope": "read admin:write"}, "invalid_scope"),
        ({"scope": "fly"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ],
)
async def test_bad_requests_from_a_known_client_are_redirected(
    client: httpx.AsyncClient, extra: dict[str, str], error: str
) -> None:
    app = await create_app(client)
    r = await client.get("/oauth/authorize", params=authorize_params(app, **extra))
    assert r.status_code == 302
    assert r.headers["location"].startswith(CALLBACK + "?")
    query = query_of(r.headers["location"])
    assert query["error"] == error
    assert query["state"] == "xyz-123"


async def test_scope_defaults_to_read(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    params = authorize_params(app)
    del params["scope"]
    r = await authorize_through_pages(client, params, "alice", PASSWORD)
    code = query_of(r.headers["location"])["code"]
    assert (await exchange(client, app, code)).json()["scope"] == "read"


async def test_force_login_asks_to_sign_in_again(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    await make_actor("bob")
    app = await create_app(client)
    await get_code(client, app, login="alice")
    r = await client.get("/oauth/authorize", params=authorize_params(app))
    assert "Authorization required" in r.text and "@alice" in r.text
    r = await client.get("/oauth/authorize", params=authorize_params(app, force_login="true"))
    assert "Sign in" in r.text
    r = await sign_in(client, r.text, "bob", PASSWORD)
    assert "force_login" not in r.headers["location"]
    r = await client.get(r.headers["location"])
    assert "@bob" in r.text


async def test_password_grant(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    app = await create_app(client)
    base = {"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"]}
    r = await client.post("/oauth/token", data={**base, "username": "alice@example.com", "password": PASSWORD,
                                                "scope": "read write"})
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "read write"
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(r.json()["access_token"]))
    assert r.json()["id"] == alice.id

    r = await client.post("/oauth/token", data={**base, "username": "alice", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["scope"] == "read"

    r = await client.post("/oauth/token", data={**base, "username": "alice", "password": "wrong password"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await client.post("/oauth/token", data={**base, "username": "nobody", "password": PASSWORD})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await client.post("/oauth/token", data={**base, "username": "alice", "password": PASSWORD,
                                                "scope": "admin:read"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


async def test_password_grant_refuses_pending_users(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(User).where(User.id == alice.user_id).values(approved=False))
    app = await create_app(client)
    r = await client.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                                "client_secret": app["client_secret"], "username": "alice",
                                                "password": PASSWORD})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    assert "pending" in r.json()["error_description"]


async def test_client_credentials_token_has_no_user(client: httpx.AsyncClient) -> None:
    app = await create_app(client)
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                "client_secret": app["client_secret"], "scope": "read write"})
    assert r.status_code == 200
    token = r.json()["access_token"]
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert r.status_code == 422
    r = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({}, 400, "invalid_request"),
        ({"grant_type": "implicit"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ],
)
async def test_token_endpoint_errors(
    client: httpx.AsyncClient, data: dict[str, str], status: int, error: str
) -> None:
    r = await client.post("/oauth/token", data=data)
    assert r.status_code == status
    assert r.json()["error"] == error


async def test_revoke(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    code = await get_code(client, app)
    token = (await exchange(client, app, code)).json()["access_token"]
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))).status_code == 200

    other = await create_app(client)
    r = await client.post("/oauth/revoke", data={"token": token, "client_id": other["client_id"],
                                                 "client_secret": other["client_secret"]})
    assert r.status_code == 403
    r = await client.post("/oauth/revoke", data={"token": token, "client_id": app["client_id"],
                                                 "client_secret": "wrong"})
    assert r.status_code == 401

    r = await client.post("/oauth/revoke", data={"token": token, "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"]})
    assert r.status_code == 200
    assert r.json() == {}
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert r.status_code == 401
    assert r.json()["error"] == "The access token was revoked"

    r = await client.post("/oauth/revoke", json={"token": "unknown", "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"]})
    assert r.status_code == 200


async def test_userinfo_describes_the_tokens_user(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice", scopes="profile")
    r = await client.get("/oauth/userinfo", headers=alice.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["preferred_username"] == "alice"
    assert body["profile"] == "http://testserver/@alice"
    assert body["sub"] == "http://testserver/users/alice"
    r = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert r.status_code == 200
    bob = await make_actor("bob", scopes="write")
    r = await client.get("/oauth/userinfo", headers=bob.headers)
    assert r.status_code == 403
