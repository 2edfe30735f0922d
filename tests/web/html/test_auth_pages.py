from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.passwords import hash_password
from starling.models import User
from starling.repositories.instance import put_setting
from starling.web.app import create_app as create_app_for
from starling.web.html.session import COOKIE_NAME
from tests.conftest import MakeActor
from tests.web.html.pages import create_app, form_posting_to, sign_in, unlabelled_inputs

PASSWORD = "correct horse battery"


async def set_mode(container: Container, mode: str) -> None:
    async with unit_of_work(container.sessions) as session:
        await put_setting(session, "registrations_mode", mode)


async def authorize_page(client: httpx.AsyncClient) -> str:
    app = await create_app(client)
    r = await client.get("/oauth/authorize", params={"response_type": "code", "client_id": str(app["client_id"]),
                                                     "redirect_uri": "https://app.example/callback"})
    assert r.status_code == 200
    return r.text


async def test_sign_in_page_is_a_plain_accessible_form(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/sign_in")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<script" not in r.text
    form = form_posting_to(r.text, "/auth/sign_in")
    assert form.method == "post"
    assert form.fields["csrf_token"]
    assert unlabelled_inputs(r.text) == []
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


async def test_sign_in_and_out(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    page = (await client.get("/auth/sign_in", params={"next": "/oauth/authorize?x=1"})).text
    r = await sign_in(client, page, "alice", "wrong password")
    assert r.status_code == 422
    assert "Invalid login or password" in r.text
    assert 'value="alice"' in r.text

    r = await sign_in(client, r.text, "alice", PASSWORD)
    assert r.status_code == 303
    assert r.headers["location"] == "/oauth/authorize?x=1"
    cookie = r.headers["set-cookie"].lower()
    assert "max-age=" in cookie and "httponly" in cookie

    consent = await authorize_page(client)
    assert "Authorization required" in consent
    out = form_posting_to(consent, "/auth/sign_out")
    r = await client.post("/auth/sign_out", data=out.fields)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/oauth/authorize?")
    assert "Sign in" in await authorize_page(client)


async def test_signed_in_visitor_is_sent_on(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    page = (await client.get("/auth/sign_in")).text
    await sign_in(client, page, "alice", PASSWORD)
    r = await client.get("/auth/sign_in", params={"next": "/somewhere"})
    assert r.status_code == 303
    assert r.headers["location"] == "/somewhere"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"])
async def test_next_never_leaves_the_site(client: httpx.AsyncClient, make_actor: MakeActor, target: str) -> None:
    await make_actor("alice")
    page = (await client.get("/auth/sign_in", params={"next": target})).text
    r = await sign_in(client, page, "alice", PASSWORD)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_forged_posts_are_refused(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    await make_actor("alice")
    page = (await client.get("/auth/sign_in")).text
    r = await client.post("/auth/sign_in", data={"login": "alice", "password": PASSWORD})
    assert r.status_code == 403
    r = await client.post("/auth/sign_in", data={"login": "alice", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403

    # A token from another browser's session does not work here either.
    transport = httpx.ASGITransport(app=create_app_for(container=container))
    async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as other:
        foreign = form_posting_to((await other.get("/auth/sign_in")).text, "/auth/sign_in").fields["csrf_token"]
    r = await client.post("/auth/sign_in", data={"login": "alice", "password": PASSWORD, "csrf_token": foreign})
    assert r.status_code == 403
    assert "Sign in" in await authorize_page(client)

    r = await sign_in(client, page, "alice", PASSWORD)
    assert r.status_code == 303


async def test_forged_consent_is_refused(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    app = await create_app(client)
    await sign_in(client, (await client.get("/auth/sign_in")).text, "alice", PASSWORD)
    r = await client.post("/oauth/authorize", data={"response_type": "code", "client_id": app["client_id"],
                                                    "redirect_uri": "https://app.example/callback",
                                                    "decision": "authorize"})
    assert r.status_code == 403
    assert "location" not in r.headers


async def test_tampered_cookie_means_signed_out(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    await sign_in(client, (await client.get("/auth/sign_in")).text, "alice", PASSWORD)
    value = client.cookies[COOKIE_NAME]
    payload, mac = value.split(".")
    client.cookies.set(COOKIE_NAME, payload + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"))
    assert "Sign in" in await authorize_page(client)


async def test_password_change_ends_browser_sessions(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    await sign_in(client, (await client.get("/auth/sign_in")).text, "alice", PASSWORD)
    assert "Authorization required" in await authorize_page(client)
    async with unit_of_work(container.sessions) as session:
        await session.execute(
            update(User).where(User.id == alice.user_id).values(password_hash=hash_password("another password"))
        )
    assert "Sign in" in await authorize_page(client)


async def test_secure_cookie_when_configured(
    client: httpx.AsyncClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container.settings, "secure_cookies", True)
    r = await client.get("/auth/sign_in")
    assert "secure" in r.headers["set-cookie"].lower()


async def test_pending_and_suspended_cannot_sign_in(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(User).where(User.id == alice.user_id).values(approved=False))
    page = (await client.get("/auth/sign_in")).text
    r = await sign_in(client, page, "alice", PASSWORD)
    assert r.status_code == 422
    assert "pending approval" in r.text


def sign_up_data(page: str, **values: str) -> dict[str, str]:
    form = form_posting_to(page, "/auth/sign_up")
    data = dict(form.fields)
    data.update({"username": "erin", "email": "erin@example.org", "password": "a fine password",
                 "password_confirmation": "a fine password", "agreement": "1"})
    data.update(values)
    return data


async def test_sign_up_open(client: httpx.AsyncClient) -> None:
    r = await client.get("/auth/sign_up")
    assert r.status_code == 200
    assert unlabelled_inputs(r.text) == []
    assert 'name="reason"' not in r.text
    r = await client.post("/auth/sign_up", data=sign_up_data(r.text))
    assert r.status_code == 200, r.text
    assert "@erin" in r.text
    assert "Authorization required" in await authorize_page(client)


async def test_sign_up_continues_to_next(client: httpx.AsyncClient) -> None:
    page = (await client.get("/auth/sign_up", params={"next": "/oauth/authorize?client_id=x"})).text
    r = await client.post("/auth/sign_up", data=sign_up_data(page))
    assert r.status_code == 303
    assert r.headers["location"] == "/oauth/authorize?client_id=x"


async def test_sign_up_shows_every_problem(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("erin")
    page = (await client.get("/auth/sign_up")).text
    data = sign_up_data(page, password_confirmation="different", email="not-an-email")
    del data["agreement"]
    r = await client.post("/auth/sign_up", data=data)
    assert r.status_code == 422
    for text in ("Username has already been taken", "Email is invalid", "Password confirmation doesn",
                 "Agreement must be accepted"):
        assert text in r.text
    assert 'value="not-an-email"' in r.text
    assert "a fine password" not in r.text


async def test_sign_up_with_approval(client: httpx.AsyncClient, container: Container) -> None:
    await set_mode(container, "approval")
    page = (await client.get("/auth/sign_up")).text
    assert 'name="reason"' in page
    r = await client.post("/auth/sign_up", data=sign_up_data(page))
    assert r.status_code == 422
    assert "Reason can" in r.text
    r = await client.post("/auth/sign_up", data=sign_up_data(page, reason="Birdwatcher"))
    assert r.status_code == 200
    assert "approval" in r.text
    assert "Sign in" in await authorize_page(client)
    r = await sign_in(client, (await client.get("/auth/sign_in")).text, "erin", "a fine password")
    assert r.status_code == 422
    assert "pending approval" in r.text


async def test_sign_up_closed(client: httpx.AsyncClient, container: Container) -> None:
    open_page = (await client.get("/auth/sign_up")).text
    await set_mode(container, "closed")
    r = await client.get("/auth/sign_up")
    assert r.status_code == 200
    assert "Registrations are closed" in r.text
    assert 'action="/auth/sign_up"' not in r.text
    r = await client.post("/auth/sign_up", data=sign_up_data(open_page))
    assert r.status_code == 403
    assert "Registrations are closed" in r.text
    assert "Sign up" not in (await client.get("/auth/sign_in")).text.split("</form>")[1]
