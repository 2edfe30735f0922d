"""Flushing counted requests into activity_hours, and planning from what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.models import ActivityHour, Status
from starling.services.maintenance import sketch
from starling.services.maintenance.plan_window import load_profile, plan_maintenance_window
from starling.services.maintenance.record_activity import RETENTION, ActivityBatch, record_activity
from tests.conftest import MakeActor

HOUR = datetime(2026, 11, 24, 3, tzinfo=UTC)  # a Tuesday


async def _row(container: Container, at: datetime) -> ActivityHour | None:
    async with unit_of_work(container.sessions, write=False) as session:
        return (await session.execute(select(ActivityHour).where(ActivityHour.hour_start == at))).scalar_one_or_none()


async def test_flushes_add_requests_and_count_each_account_once(container: Container, make_actor: MakeActor) -> None:
    ann, bob = await make_actor("ann"), await make_actor("bob")
    async with unit_of_work(container.sessions) as session:
        await record_activity(session, ActivityBatch(HOUR + timedelta(minutes=5), requests=7, tokens={ann.token}),
                              now=HOUR)
    # A second process (or the next minute) saw ann again, bob, an unknown token, and bob's browser session.
    async with unit_of_work(container.sessions) as session:
        await record_activity(
            session, ActivityBatch(HOUR + timedelta(minutes=40), requests=5, tokens={ann.token, bob.token, "nope"},
                                   user_ids={bob.user_id}),
            now=HOUR,
        )
    row = await _row(container, HOUR)
    assert row is not None
    assert row.requests == 12
    assert row.active_accounts == 2
    assert row.account_sample == sorted(sketch.account_hash(int(a.id)) for a in (ann, bob))


async def test_old_activity_is_pruned(container: Container) -> None:
    old = HOUR - RETENTION - timedelta(hours=1)
    async with unit_of_work(container.sessions) as session:
        await record_activity(session, ActivityBatch(old, requests=1), now=old)
        await record_activity(session, ActivityBatch(HOUR, requests=1), now=HOUR)
    assert await _row(container, old) is None
    assert await _row(container, HOUR) is not None


async def test_posts_come_from_statuses_and_their_authors_are_active(
    container: Container, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    async with unit_of_work(container.sessions) as session:
        for minutes in (1, 2, 3):
            at = HOUR + timedelta(minutes=minutes)
            session.add(Status(id=new_id(at), account_id=int(ann.id), text="hi", content="<p>hi</p>", created_at=at))
        await record_activity(session, ActivityBatch(HOUR, requests=10), now=HOUR)
    async with unit_of_work(container.sessions, write=False) as session:
        profile = await load_profile(session, now=HOUR + timedelta(days=1), weeks=1)
    hour = profile.hours[HOUR]
    assert hour.posts == 3 and hour.requests == 10
    assert hour.sample == [sketch.account_hash(int(ann.id))]
    assert profile.people[sketch.account_hash(int(ann.id))].locale == "en"
    assert profile.slots[24 + 3] is not None and profile.slots[24 + 3].active == 1  # type: ignore[union-attr]


async def test_plan_from_an_empty_database_says_there_is_nothing(container: Container) -> None:
    async with unit_of_work(container.sessions, write=False) as session:
        plan = await plan_maintenance_window(session, now=HOUR, duration=90)
    assert plan.profile.empty and plan.windows == []
