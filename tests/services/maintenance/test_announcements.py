from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import NotFound, Unprocessable
from starling.models.base import utcnow
from starling.services.maintenance.create_announcement import AnnouncementDraft, create_announcement
from starling.services.maintenance.end_announcement import end_announcement
from starling.services.maintenance.list_announcements import all_announcements, current_announcements

FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
PAST = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("draft", "problem"),
    [
        (AnnouncementDraft(text="   "), "Text can't be blank"),
        (AnnouncementDraft(text="x" * 2001), "Text is too long"),
        (AnnouncementDraft(text="x", starts_at=FUTURE), "both a start and an end"),
        (AnnouncementDraft(text="x", starts_at=FUTURE + timedelta(days=1), ends_at=FUTURE), "must be after the start"),
        (AnnouncementDraft(text="x", starts_at=PAST, ends_at=PAST + timedelta(days=1)), "already past"),
        (AnnouncementDraft(text="x", all_day=True), "all-day announcement needs"),
    ],
)
async def test_bad_drafts_are_refused_and_nothing_is_written(
    container: Container, draft: AnnouncementDraft, problem: str
) -> None:
    with pytest.raises(Unprocessable) as caught:
        async with unit_of_work(container.sessions) as session:
            await create_announcement(session, draft)
    assert problem in caught.value.message
    async with unit_of_work(container.sessions, write=False) as session:
        assert await all_announcements(session) == []


async def test_current_ones_are_published_and_not_over(container: Container) -> None:
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        later = await create_announcement(session, AnnouncementDraft(
            text="Maintenance on Tuesday", starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=2)))
        plain = await create_announcement(session, AnnouncementDraft(text="Welcome"))
        short = await create_announcement(session, AnnouncementDraft(
            text="Soon over", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(minutes=1)))
        ended = await create_announcement(session, AnnouncementDraft(text="Cancelled"))
        await end_announcement(session, ended.id)
    async with unit_of_work(container.sessions, write=False) as session:
        shown = [s.announcement.id for s in await current_announcements(session, None, now=now)]
        assert set(shown) == {later.id, plain.id, short.id}
        assert shown.index(short.id) < shown.index(later.id)
        after = [s.announcement.id for s in await current_announcements(session, None, now=now + timedelta(minutes=2))]
        assert short.id not in after


async def test_ending_an_unknown_announcement_is_not_found(container: Container) -> None:
    with pytest.raises(NotFound):
        async with unit_of_work(container.sessions) as session:
            await end_announcement(session, 12345)
