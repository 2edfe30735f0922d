from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.models import Account, FollowRequest
from starling.models.base import utcnow
from starling.repositories.instance import put_setting
from tests.conftest import MakeActor
from tests.web.html.pages import app_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


NEW = {"username": "carol", "email": "carol@example.net", "password": "a long password", "agreement": True,
       "locale": "en"}


async def set_mode(container: Container, mode: str) -> None:
    async with unit_of_work(container.sessions) as session:
        await put_setting(session, "registrations_mode", mode)


async def test_register_through_the_api(client: httpx.AsyncClient) -> None:
    _, token = await app_token(client)
    r = await client.post("/api/v1/accounts", json=NEW, headers=bearer(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write follow push"
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"]))
    assert r.status_code == 200
    assert r.json()["username"] == "carol"
    assert r.json()["acct"] == "carol"


async def test_register_with_form_body(client: httpx.AsyncClient) -> None:
    _, token = await app_token(client, scope="write")
    form = {**NEW, "agreement": "true"}
    r = await client.post("/api/v1/accounts", data=form, headers=bearer(token))
    assert r.status_code == 200, r.text


async def test_register_needs_an_app_token_with_write_accounts(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/accounts", json=NEW)).status_code == 401
    _, token = await app_token(client, scope="read")
    r = await client.post("/api/v1/accounts", json=NEW, headers=bearer(token))
    assert r.status_code == 403


async def test_register_validation_details(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("carol")
    _, token = await app_token(client)
    r = await client.post(
        "/api/v1/accounts",
        json={"username": "carol", "email": "bad", "password": "short", "agreement": False},
        headers=bearer(token),
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith("Validation failed: ")
    assert body["details"]["username"] == [{"error": "ERR_TAKEN", "description": "has already been taken"}]
    assert body["details"]["email"][0]["error"] == "ERR_INVALID"
    assert body["details"]["password"][0]["error"] == "ERR_TOO_SHORT"
    assert body["details"]["agreement"][0]["error"] == "ERR_ACCEPTED"


async def test_register_email_taken_and_bad_username(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("dave")
    _, token = await app_token(client)
    r = await client.post("/api/v1/accounts", json={**NEW, "username": "no spaces!", "email": "dave@example.com"},
                          headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["details"]["username"][0]["error"] == "ERR_INVALID"
    assert r.json()["details"]["email"][0]["error"] == "ERR_TAKEN"


async def test_register_in_approval_mode(client: httpx.AsyncClient, container: Container) -> None:
    await set_mode(container, "approval")
    _, token = await app_token(client)
    r = await client.post("/api/v1/accounts", json=NEW, headers=bearer(token))
    assert r.status_code == 422
    assert r.json()["details"]["reason"][0]["error"] == "ERR_BLANK"
    r = await client.post("/api/v1/accounts", json={**NEW, "reason": "I like birds"}, headers=bearer(token))
    assert r.status_code == 200
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(r.json()["access_token"]))
    assert r.status_code == 403
    assert "pending" in r.json()["error"]


async def test_register_when_closed(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = await app_token(client)
    monkeypatch.setattr(container.settings, "registrations", "closed")
    r = await client.post("/api/v1/accounts", json=NEW, headers=bearer(token))
    assert r.status_code == 403
    assert r.json()["error"] == "Registrations are closed"
    await set_mode(container, "open")
    r = await client.post("/api/v1/accounts", json=NEW, headers=bearer(token))
    assert r.status_code == 200


async def test_verify_credentials(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice", locked=True)
    bob = await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        session.add(FollowRequest(id=new_id(), account_id=int(bob.id), target_account_id=int(alice.id),
                                  created_at=utcnow()))
    r = await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["locked"] is True
    assert body["source"]["follow_requests_count"] == 1
    assert body["source"]["privacy"] == "public"
    assert body["source"]["note"] == ""
    assert "role" in body


async def test_verify_credentials_scopes(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read:accounts")
    profile = await make_actor("profiler", scopes="profile")
    writer = await make_actor("writer", scopes="write")
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=reader.headers)).status_code == 200
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=profile.headers)).status_code == 200
    r = await client.get("/api/v1/accounts/verify_credentials", headers=writer.headers)
    assert r.status_code == 403
    r = await client.get("/api/v1/accounts/verify_credentials", headers=bearer("bogus"))
    assert r.status_code == 401


async def test_update_credentials_with_json(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    r = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        json={
            "display_name": "Alice A.",
            "note": "Friend of @bob & <b>cats</b>",
            "locked": True,
            "bot": True,
            "discoverable": False,
            "indexable": False,
            "hide_collections": True,
            "fields_attributes": [
                {"name": "Site", "value": "https://alice.example/about"},
                {"name": "Pronouns", "value": "she/her"},
            ],
            "source": {"privacy": "unlisted", "sensitive": True, "language": "fr"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Alice A."
    assert 'href="http://testserver/@bob"' in body["note"]
    assert "&lt;b&gt;cats&lt;/b&gt;" in body["note"]
    assert body["locked"] is True and body["bot"] is True
    assert body["discoverable"] is False and body["indexable"] is False
    assert body["fields"][0]["name"] == "Site"
    assert '<a href="https://alice.example/about"' in body["fields"][0]["value"]
    assert body["fields"][1] == {"name": "Pronouns", "value": "she/her", "verified_at": None}
    assert body["source"]["note"] == "Friend of @bob & <b>cats</b>"
    assert body["source"]["fields"][0]["value"] == "https://alice.example/about"
    assert body["source"]["privacy"] == "unlisted"
    assert body["source"]["sensitive"] is True
    assert body["source"]["language"] == "fr"

    again = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert again["display_name"] == "Alice A."
    assert again["fields"] == body["fields"]
    public = (await client.get(f"/api/v1/accounts/{alice.id}")).json()
    assert public["note"] == body["note"]


async def test_update_credentials_with_form_fields(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    form = {
        "display_name": "Form Alice",
        "fields_attributes[0][name]": "Home",
        "fields_attributes[0][value]": "https://home.example",
        "fields_attributes[1][name]": "",
        "fields_attributes[1][value]": "",
        "source[privacy]": "private",
        "locked": "1",
    }
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Form Alice"
    assert [f["name"] for f in body["fields"]] == ["Home"]
    assert body["source"]["privacy"] == "private"
    assert body["locked"] is True

    r = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=alice.headers,
        files={"fields_attributes[0][name]": (None, "Multipart"), "fields_attributes[0][value]": (None, "yes")},
    )
    assert r.status_code == 200, r.text
    assert r.json()["fields"][0]["name"] == "Multipart"
    assert r.json()["display_name"] == "Form Alice"


async def test_fields_can_be_cleared(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                       json={"fields_attributes": [{"name": "a", "value": "b"}]})
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           json={"fields_attributes": []})
    assert r.status_code == 200
    assert r.json()["fields"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "x" * 31},
        {"note": "x" * 501},
        {"fields_attributes": [{"name": str(i), "value": "v"} for i in range(5)]},
        {"fields_attributes": ["not a pair"]},
        {"source": {"privacy": "direct"}},
        {"source": {"language": "klingon"}},
        {"locked": "maybe"},
    ],
)
async def test_update_credentials_validation(
    client: httpx.AsyncClient, make_actor: MakeActor, body: dict[str, Any]
) -> None:
    alice = await make_actor("alice")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers, json=body)
    assert r.status_code == 422, r.text
    again = (await client.get("/api/v1/accounts/verify_credentials", headers=alice.headers)).json()
    assert again["display_name"] == "" and again["fields"] == []


async def test_avatar_that_is_not_an_image_is_refused(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"avatar": ("a.png", b"\x89PNG fake", "image/png")})
    assert r.status_code == 422
    assert r.json()["error"] == "Validation failed: File content type is not supported"
    r = await client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                           files={"display_name": (None, "No avatar")})
    assert r.status_code == 200


async def test_update_credentials_needs_write_scope(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read")
    r = await client.patch("/api/v1/accounts/update_credentials", headers=reader.headers, json={"display_name": "x"})
    assert r.status_code == 403
    r = await client.patch("/api/v1/accounts/update_credentials", json={"display_name": "x"})
    assert r.status_code == 401
    r = await client.patch("/api/v1/accounts/update_credentials", headers=bearer("bogus"), json={})
    assert r.status_code == 401


async def test_show_account(client: httpx.AsyncClient, make_actor: MakeActor, container: Container) -> None:
    alice = await make_actor("alice")
    r = await client.get(f"/api/v1/accounts/{alice.id}")
    assert r.status_code == 200
    assert r.json()["username"] == "alice"
    assert "source" not in r.json()
    assert (await client.get("/api/v1/accounts/12345")).status_code == 404
    assert (await client.get("/api/v1/accounts/99999999999999999999999")).status_code == 404
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(alice.id)).values(suspended_at=utcnow()))
    assert (await client.get(f"/api/v1/accounts/{alice.id}")).status_code == 404


async def test_lookup(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for acct in ("alice", "@alice", "ALICE", "alice@testserver"):
        r = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert r.status_code == 200, acct
        assert r.json()["id"] == alice.id
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "nobody"})).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "alice@elsewhere.example"})).status_code == 404
    assert (await client.get("/api/v1/accounts/lookup")).status_code == 404


async def test_several_accounts(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    bob = await make_actor("bob")
    r = await client.get("/api/v1/accounts", params=[("id[]", bob.id), ("id[]", "1"), ("id[]", alice.id)])
    assert r.status_code == 200
    assert [a["id"] for a in r.json()] == [bob.id, alice.id]
    r = await client.get("/api/v1/accounts", params=[("id[]", "x")])
    assert r.status_code == 422


async def test_non_numeric_account_id_is_not_found(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/accounts/not-an-id")
    assert r.status_code == 404
    assert r.json() == {"error": "Record not found"}
