"""Find the maintenance windows that disturb the fewest active people.

Reads the recorded activity per hour (requests and a sample of the accounts that made them), adds
the local posts of the same period straight from the statuses (their authors count as active too,
so a server that never recorded requests can still be planned from its posts), and ranks every
window of the week (see ``profile.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.repositories import maintenance as repo
from starling.services.maintenance import sketch
from starling.services.maintenance.profile import (
    HourActivity,
    Person,
    Profile,
    Window,
    build_profile,
    floor_hour,
    rank_windows,
)

MAX_WEEKS = 13
MAX_DURATION = 72 * 60
STEPS = (30, 60)


@dataclass
class Plan:
    profile: Profile
    windows: list[Window]
    duration: int
    step: int
    weeks: int


async def load_profile(session: AsyncSession, *, now: datetime, weeks: int) -> Profile:
    end = floor_hour(now)
    start = end - timedelta(weeks=weeks)
    hours: dict[datetime, HourActivity] = {}
    for row in await repo.activity_hours(session, start, end):
        hours[row.hour_start] = HourActivity(row.hour_start, requests=row.requests, sample=list(row.account_sample))
    posters: dict[datetime, set[int]] = {}
    for created_at, account_id in await repo.local_posts_since(session, start, end):
        at = floor_hour(created_at)
        activity = hours.setdefault(at, HourActivity(at))
        activity.posts += 1
        posters.setdefault(at, set()).add(sketch.account_hash(account_id))
    for at, hashes in posters.items():
        hours[at].sample = sketch.merge(hours[at].sample, hashes)
    people = {
        sketch.account_hash(account_id): Person(locale=locale or None, time_zone=tz or None)
        for account_id, locale, tz in await repo.users_locale_and_time_zone(session)
    }
    return build_profile(list(hours.values()), end=end, weeks=weeks, people=people)


async def plan_maintenance_window(
    session: AsyncSession, *, now: datetime, duration: int, weeks: int = 4, top: int = 5, step: int = 30
) -> Plan:
    if not 0 < duration <= MAX_DURATION:
        raise Unprocessable(f"The duration must be between 1 minute and {MAX_DURATION // 60} hours")
    if not 1 <= weeks <= MAX_WEEKS:
        raise Unprocessable(f"Weeks must be between 1 and {MAX_WEEKS}")
    if not 1 <= top <= 50:
        raise Unprocessable("Top must be between 1 and 50")
    if step not in STEPS:
        raise Unprocessable("The step must be 30 or 60 minutes")
    profile = await load_profile(session, now=now, weeks=weeks)
    windows = [] if profile.empty else rank_windows(profile, duration=duration, step=step, top=top)
    return Plan(profile=profile, windows=windows, duration=duration, step=step, weeks=weeks)
