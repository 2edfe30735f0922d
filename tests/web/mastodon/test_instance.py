from __future__ import annotations

import re

import httpx
from sqlalchemy import update

from starling import MASTODON_COMPAT_VERSION, __version__
from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.models import Account, Status
from starling.models.base import utcnow
from starling.services.instance.manage_rules import add_rule
from starling.services.instance.update_instance_settings import InstanceSettingsChange, update_instance_settings
from tests.conftest import MakeActor

VERSION = re.compile(r"^4\.5\.0 \(compatible; Starling ")


async def _post_status(container: Container, account_id: str, *, local: bool = True) -> None:
    async with unit_of_work(container.sessions) as session:
        session.add(Status(id=new_id(), account_id=int(account_id), local=local, text="hi", content="<p>hi</p>",
                           visibility="public", created_at=utcnow()))


async def test_v2_instance_without_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/instance")
    assert r.status_code == 200
    body = r.json()
    assert VERSION.match(body["version"])
    assert body["version"] == f"{MASTODON_COMPAT_VERSION} (compatible; Starling {__version__})"
    assert body["api_versions"] == {"mastodon": 6}
    assert body["domain"] == "testserver"
    assert body["title"] == "Starling"
    assert body["registrations"]["enabled"] is True
    assert body["registrations"]["approval_required"] is False
    assert body["registrations"]["message"] is None
    assert body["registrations"]["reason_required"] is False
    assert body["configuration"]["urls"]["streaming"] == "ws://testserver"
    config = body["configuration"]
    assert config["statuses"] == {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}
    assert config["accounts"]["max_pinned_statuses"] == 5
    assert config["media_attachments"]["image_size_limit"] == 16 * 1024 * 1024
    assert config["media_attachments"]["description_limit"] == 1500
    assert config["translation"] == {"enabled": False}
    assert config["vapid"] == {"public_key": ""}
    assert set(config["polls"]) == {"max_options", "max_characters_per_option", "min_expiration", "max_expiration"}
    assert body["contact"] == {"email": "", "account": None}
    assert body["rules"] == []
    assert body["thumbnail"]["url"].startswith("http://testserver/")
    assert body["usage"] == {"users": {"active_month": 0}}


async def test_v2_instance_has_every_required_field(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v2/instance")).json()
    required = {"api_versions", "configuration", "contact", "description", "domain", "icon", "languages",
                "registrations", "rules", "source_url", "thumbnail", "title", "usage", "version"}
    assert required <= set(body)
    assert {"accounts", "media_attachments", "polls", "statuses", "translation", "urls"} <= set(body["configuration"])
    assert all({"src", "size"} <= set(icon) for icon in body["icon"])


async def test_v1_instance_without_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/instance")
    assert r.status_code == 200
    body = r.json()
    required = {"approval_required", "configuration", "description", "email", "invites_enabled", "languages",
                "registrations", "rules", "short_description", "stats", "title", "uri", "urls", "version"}
    assert required <= set(body)
    assert VERSION.match(body["version"])
    assert "api_versions" not in body
    assert body["uri"] == "testserver"
    assert body["urls"] == {"streaming_api": "ws://testserver"}
    assert body["registrations"] is True
    assert body["approval_required"] is False
    assert body["invites_enabled"] is False
    assert body["stats"] == {"user_count": 0, "status_count": 0, "domain_count": 0}
    assert body["configuration"]["statuses"]["max_characters"] == 500
    assert body["contact_account"] is None


async def test_instance_ignores_a_bad_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/instance", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 200


async def test_stats_count_accounts_and_local_statuses(
    client: httpx.AsyncClient, make_actor: MakeActor, container: Container
) -> None:
    alice = await make_actor("alice")
    await make_actor("bob")
    await _post_status(container, alice.id)
    await _post_status(container, alice.id)
    stats = (await client.get("/api/v1/instance")).json()["stats"]
    assert stats == {"user_count": 2, "status_count": 2, "domain_count": 0}

    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).where(Account.id == int(alice.id)).values(suspended_at=utcnow()))
    await make_actor("carol")
    stats = (await client.get("/api/v1/instance")).json()["stats"]
    assert stats["user_count"] == 2


async def test_remote_accounts_count_as_domains_and_peers(client: httpx.AsyncClient, container: Container) -> None:
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        for username, domain in (("x", "one.example"), ("y", "one.example"), ("z", "two.example")):
            session.add(Account(id=new_id(), username=username, username_lower=username, domain=domain,
                                domain_key=domain, created_at=now, updated_at=now))
    assert (await client.get("/api/v1/instance")).json()["stats"]["domain_count"] == 2
    r = await client.get("/api/v1/instance/peers")
    assert r.status_code == 200
    assert r.json() == ["one.example", "two.example"]


async def test_active_month_counts_users_with_recent_tokens(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("alice")
    await make_actor("bob")
    assert (await client.get("/api/v2/instance")).json()["usage"]["users"]["active_month"] == 2


async def test_contact_account_is_the_admin(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    await make_actor("someone")
    boss = await make_actor("boss", admin=True)
    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["contact"]["account"]["id"] == boss.id
    assert v2["contact"]["account"]["username"] == "boss"
    v1 = (await client.get("/api/v1/instance")).json()
    assert v1["contact_account"]["id"] == boss.id


async def test_admin_settings_show_in_instance(client: httpx.AsyncClient, container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await update_instance_settings(session, InstanceSettingsChange(
            title="Birds", description="A place for birds", registrations_mode="approval",
            contact_email="staff@birds.example",
        ))
        await add_rule(session, "Be kind", "Really")
    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["title"] == "Birds"
    assert v2["description"] == "A place for birds"
    assert v2["registrations"] == {**v2["registrations"], "enabled": True, "approval_required": True,
                                   "reason_required": True}
    assert v2["contact"]["email"] == "staff@birds.example"
    assert [r["text"] for r in v2["rules"]] == ["Be kind"]
    v1 = (await client.get("/api/v1/instance")).json()
    assert v1["title"] == "Birds"
    assert v1["short_description"] == "A place for birds"
    assert v1["email"] == "staff@birds.example"
    assert v1["approval_required"] is True
    assert v1["registrations"] is True


async def test_closed_registrations(client: httpx.AsyncClient, container: Container) -> None:
    async with unit_of_work(container.sessions) as session:
        await update_instance_settings(session, InstanceSettingsChange(
            registrations_mode="closed", closed_registrations_message="Invite only for now",
        ))
    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["registrations"]["enabled"] is False
    assert v2["registrations"]["message"] == "Invite only for now"
    assert (await client.get("/api/v1/instance")).json()["registrations"] is False


async def test_rules_endpoint(client: httpx.AsyncClient, container: Container) -> None:
    assert (await client.get("/api/v1/instance/rules")).json() == []
    async with unit_of_work(container.sessions) as session:
        first = await add_rule(session, "No spam")
        await add_rule(session, "Be kind", "Assume good faith")
    r = await client.get("/api/v1/instance/rules")
    assert r.status_code == 200
    assert r.json() == [
        {"id": str(first.id), "text": "No spam", "hint": "", "translations": {}},
        {"id": r.json()[1]["id"], "text": "Be kind", "hint": "Assume good faith", "translations": {}},
    ]


async def test_extended_description(client: httpx.AsyncClient, container: Container) -> None:
    r = await client.get("/api/v1/instance/extended_description")
    assert r.status_code == 200
    body = r.json()
    assert body["content"] == "<p>A Starling server: short posts, live, for everyone.</p>"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["updated_at"])
    async with unit_of_work(container.sessions) as session:
        await update_instance_settings(session, InstanceSettingsChange(extended_description="Hello <b>\n\nSecond"))
    body = (await client.get("/api/v1/instance/extended_description")).json()
    assert body["content"] == "<p>Hello &lt;b&gt;</p><p>Second</p>"


async def test_small_instance_lists(client: httpx.AsyncClient) -> None:
    for path, expected in (
        ("/api/v1/instance/translation_languages", {}),
        ("/api/v1/instance/domain_blocks", []),
        ("/api/v1/instance/peers", []),
        ("/api/v1/custom_emojis", []),
    ):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.json() == expected, path
