"""An admin announces something (a maintenance window) to everyone: the web banner and
``/api/v1/announcements`` show it from now until its end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Unprocessable
from starling.domain.ids import new_id
from starling.domain.text import clean_text
from starling.models import Announcement
from starling.models.base import utcnow

MAX_TEXT = 2_000


@dataclass
class AnnouncementDraft:
    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_draft(draft: AnnouncementDraft, now: datetime) -> AnnouncementDraft:
    """The draft with times in UTC; raises with every problem at once."""
    text = clean_text(draft.text).strip()
    starts_at, ends_at = _utc(draft.starts_at), _utc(draft.ends_at)
    problems: list[str] = []
    if not text:
        problems.append("Text can't be blank")
    elif len(text) > MAX_TEXT:
        problems.append(f"Text is too long (maximum is {MAX_TEXT} characters)")
    if (starts_at is None) != (ends_at is None):
        problems.append("Give both a start and an end, or neither")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        problems.append("The end must be after the start")
    if ends_at is not None and ends_at <= now:
        problems.append("The end is already past")
    if draft.all_day and starts_at is None:
        problems.append("An all-day announcement needs a start and an end")
    if problems:
        raise Unprocessable("Validation failed: " + ", ".join(problems))
    return AnnouncementDraft(text=text, starts_at=starts_at, ends_at=ends_at, all_day=draft.all_day)


async def create_announcement(
    session: AsyncSession, draft: AnnouncementDraft, *, now: datetime | None = None
) -> Announcement:
    now = now or utcnow()
    checked = check_draft(draft, now)
    announcement = Announcement(
        id=new_id(), text=checked.text, starts_at=checked.starts_at, ends_at=checked.ends_at,
        all_day=checked.all_day, published=True, published_at=now, created_at=now, updated_at=now,
    )
    session.add(announcement)
    await session.flush()
    return announcement
