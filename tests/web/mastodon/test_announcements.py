"""GET /api/v1/announcements and POST /api/v1/announcements/:id/dismiss."""

from __future__ import annotations

from datetime import timedelta

import httpx

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.models import Announcement
from starling.models.base import utcnow
from starling.services.maintenance.create_announcement import AnnouncementDraft, create_announcement
from starling.services.maintenance.end_announcement import end_announcement
from tests.conftest import MakeActor


async def _announce(container: Container, draft: AnnouncementDraft) -> Announcement:
    async with unit_of_work(container.sessions) as session:
        return await create_announcement(session, draft)


async def _end(container: Container, announcement: Announcement) -> None:
    async with unit_of_work(container.sessions) as session:
        await end_announcement(session, announcement.id)


async def test_lists_current_announcements_as_mastodon_entities(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    now = utcnow()
    window = await _announce(container, AnnouncementDraft(
        text="Maintenance <b>Tuesday</b> 03:30 UTC, see https://status.example.com #maintenance @ann",
        starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, minutes=90)))
    ended = await _announce(container, AnnouncementDraft(text="Old news"))
    await _end(container, ended)

    r = await client.get("/api/v1/announcements", headers=ann.headers)
    assert r.status_code == 200
    body = r.json()
    assert [a["id"] for a in body] == [str(window.id)]
    entity = body[0]
    assert set(entity) >= {"id", "content", "starts_at", "ends_at", "all_day", "published_at", "updated_at", "read",
                           "mentions", "statuses", "tags", "emojis", "reactions"}
    assert "&lt;b&gt;Tuesday&lt;/b&gt;" in entity["content"] and "<b>" not in entity["content"]
    assert 'href="https://status.example.com"' in entity["content"]
    assert entity["tags"] == [{"name": "maintenance", "url": "http://testserver/tags/maintenance"}]
    assert entity["mentions"] == [] and entity["reactions"] == [] and entity["emojis"] == []
    assert entity["read"] is False and entity["all_day"] is False
    assert entity["starts_at"].endswith("Z") and entity["ends_at"] > entity["starts_at"]


async def test_dismiss_marks_it_read_for_that_account_only(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    ann, bob = await make_actor("ann"), await make_actor("bob")
    announcement = await _announce(container, AnnouncementDraft(text="Hello"))
    path = f"/api/v1/announcements/{announcement.id}/dismiss"
    r = await client.post(path, headers=ann.headers)
    assert r.status_code == 200 and r.json() == {}
    assert (await client.post(path, headers=ann.headers)).status_code == 200  # twice is fine
    assert (await client.get("/api/v1/announcements", headers=ann.headers)).json()[0]["read"] is True
    assert (await client.get("/api/v1/announcements", headers=bob.headers)).json()[0]["read"] is False


async def test_dismiss_errors(client: httpx.AsyncClient, container: Container, make_actor: MakeActor) -> None:
    reader = await make_actor("reader", scopes="read")
    ann = await make_actor("ann")
    announcement = await _announce(container, AnnouncementDraft(text="Hello"))
    path = f"/api/v1/announcements/{announcement.id}/dismiss"
    assert (await client.post(path)).status_code == 401
    assert (await client.post(path, headers=reader.headers)).status_code == 403
    r = await client.post("/api/v1/announcements/999/dismiss", headers=ann.headers)
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    assert (await client.post("/api/v1/announcements/abc/dismiss", headers=ann.headers)).status_code == 404
    await _end(container, announcement)
    assert (await client.post(path, headers=ann.headers)).status_code == 404


async def test_without_a_token_the_list_is_readable_and_empty_when_there_is_none(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert (await client.get("/api/v1/announcements")).json() == []
    await _announce(container, AnnouncementDraft(text="Hello"))
    body = (await client.get("/api/v1/announcements")).json()
    assert len(body) == 1 and body[0]["read"] is False


async def test_reactions_are_not_served_yet(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    announcement = await _announce(container, AnnouncementDraft(text="Hello"))
    r = await client.put(f"/api/v1/announcements/{announcement.id}/reactions/%F0%9F%91%8D", headers=ann.headers)
    assert r.status_code == 501 and "not implemented" in r.json()["error"]


async def test_sign_in_page_shows_the_banner(client: httpx.AsyncClient, container: Container) -> None:
    await _announce(container, AnnouncementDraft(text="Maintenance tonight <3"))
    r = await client.get("/auth/sign_in")
    assert r.status_code == 200
    assert 'aria-label="Announcement"' in r.text
    assert "Maintenance tonight &lt;3" in r.text
