from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.scopes import ALL
from starling.models import Account
from starling.models.base import utcnow
from tests.conftest import MakeActor


@pytest.mark.parametrize(
    "resource",
    [
        "acct:Alice@testserver",
        "acct:alice@TESTSERVER",
        "alice@testserver",
        "http://testserver/users/alice",
        "http://testserver/@alice",
    ],
)
async def test_webfinger_finds_local_account(client: httpx.AsyncClient, make_actor: MakeActor, resource: str) -> None:
    await make_actor("alice")
    r = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jrd+json")
    body = r.json()
    assert body["subject"] == "acct:alice@testserver"
    assert body["aliases"] == ["http://testserver/@alice", "http://testserver/users/alice"]
    links = {link["rel"]: link for link in body["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json", "href": "http://testserver/users/alice"}
    profile = links["http://webfinger.net/rel/profile-page"]
    assert profile["type"] == "text/html"
    assert profile["href"] == "http://testserver/@alice"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:nobody@testserver",
        "acct:alice@elsewhere.example",
        "https://elsewhere.example/users/alice",
        "http://testserver/about",
    ],
)
async def test_webfinger_unknown_is_404_json(client: httpx.AsyncClient, make_actor: MakeActor, resource: str) -> None:
    await make_actor("alice")
    r = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert "error" in r.json()


@pytest.mark.parametrize("params", [{}, {"resource": ""}, {"resource": "alice"}, {"resource": "acct:a@b@c"}])
async def test_webfinger_malformed_is_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    r = await client.get("/.well-known/webfinger", params=params)
    assert r.status_code == 400
    assert "error" in r.json()


async def test_webfinger_suspended_account_is_gone(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(alice.id)).values(suspended_at=utcnow()))
    r = await client.get("/.well-known/webfinger", params={"resource": "acct:alice@testserver"})
    assert r.status_code == 410


async def test_host_meta(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/host-meta")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xrd+xml")
    assert 'template="http://testserver/.well-known/webfinger?resource={uri}"' in r.text
    assert r.text.startswith("<?xml")


async def test_nodeinfo(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    r = await client.get("/.well-known/nodeinfo")
    assert r.status_code == 200
    assert r.json() == {
        "links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": "http://testserver/nodeinfo/2.0"}]
    }
    await make_actor("alice")
    r = await client.get("/nodeinfo/2.0")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["version"] == "2.0"
    assert body["software"]["name"] == "starling"
    assert body["protocols"] == []
    assert body["usage"]["users"] == {"total": 1, "activeMonth": 1, "activeHalfyear": 1}
    assert body["usage"]["localPosts"] == 0
    assert body["openRegistrations"] is True
    assert body["metadata"]["nodeName"] == "Starling"


async def test_oauth_authorization_server(client: httpx.AsyncClient) -> None:
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["issuer"] == "http://testserver/"
    assert body["authorization_endpoint"] == "http://testserver/oauth/authorize"
    assert body["token_endpoint"] == "http://testserver/oauth/token"
    assert body["revocation_endpoint"] == "http://testserver/oauth/revoke"
    assert body["app_registration_endpoint"] == "http://testserver/api/v1/apps"
    assert set(body["scopes_supported"]) == set(ALL)
    assert len(body["scopes_supported"]) == len(ALL)
    assert body["response_types_supported"] == ["code"]
    assert body["response_modes_supported"] == ["query"]
    assert body["grant_types_supported"] == ["authorization_code", "password", "client_credentials"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert body["service_documentation"].startswith("https://")
