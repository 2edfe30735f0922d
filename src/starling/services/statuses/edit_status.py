"""Editing one's own status; every version is kept so its history can be shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, Unprocessable
from starling.domain.ids import new_id
from starling.domain.text import clean_text, normalize_language
from starling.jobs.queue import enqueue
from starling.models import Account, Status, StatusEdit
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.services.statuses.compose import StatusRules, attach, check_length, compose, pick_media
from starling.services.statuses.lookup import own_status
from starling.streaming.emit import stream_status


@dataclass
class StatusChanges:
    """A full replacement, as Mastodon's edit is: what is left out is cleared (language is kept)."""

    text: str | None = None
    spoiler_text: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    media_ids: list[int] = field(default_factory=list)
    has_poll: bool = False


async def _snapshot(session: AsyncSession, status: Status, account_id: int, at: datetime) -> None:
    media_ids = [m.id for m in await q.media_of_status(session, status.id)] if status.has_media else []
    session.add(
        StatusEdit(
            id=new_id(), status_id=status.id, account_id=account_id, text=status.text, content=status.content,
            spoiler_text=status.spoiler_text, sensitive=status.sensitive, media_ids=media_ids, created_at=at,
        )
    )


async def edit_status(
    session: AsyncSession, account: Account, status_id: int, changes: StatusChanges, rules: StatusRules
) -> Status:
    status = await own_status(session, status_id, account.id)
    if status.reblog_of_id is not None:
        raise Forbidden("This action is not allowed")
    if changes.has_poll:
        raise Unprocessable("Validation failed: Polls are not supported yet")
    text = clean_text(changes.text or "")
    spoiler_text = clean_text(changes.spoiler_text or "").strip()
    media = await pick_media(session, account, changes.media_ids, rules, status_id=status.id)
    if not text.strip() and not media:
        raise Unprocessable("Validation failed: Text can't be blank")
    check_length(text, spoiler_text, rules)
    if not await q.has_edits(session, status.id):
        await _snapshot(session, status, status.account_id, status.created_at)
    composed = await compose(session, text, account, rules)
    now = utcnow()
    await q.detach_media(session, status.id, [m.id for m in media])
    attach(media, status.id)
    status.text = text
    status.content = composed.content
    status.spoiler_text = spoiler_text
    status.sensitive = bool(changes.sensitive or spoiler_text)
    if changes.language:
        status.language = normalize_language(changes.language) or status.language
    status.has_media = bool(media)
    status.edited_at = now
    await q.replace_mentions(session, status.id, [a.id for a in composed.mentioned])
    await q.replace_tags(session, status.id, composed.tags)
    await session.flush()
    await _snapshot(session, status, account.id, now)
    await session.flush()
    enqueue(session, "notify_status_update", {"status_id": status.id})
    enqueue(session, "notify_mentions", {"status_id": status.id})
    await stream_status(session, "status.update", status)
    return status
