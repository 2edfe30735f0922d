"""A status's versions, oldest first, ending with the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import Account, MediaAttachment
from starling.repositories import status_queries as q
from starling.repositories.accounts import get_account
from starling.services.statuses.lookup import visible_status


@dataclass
class Version:
    content: str
    spoiler_text: str
    sensitive: bool
    created_at: datetime
    account: Account
    media: list[MediaAttachment]


async def status_history(session: AsyncSession, status_id: int, viewer_id: int | None) -> list[Version]:
    status = await visible_status(session, status_id, viewer_id)
    account = await get_account(session, status.account_id)
    if account is None:
        raise NotFound()
    edits = await q.edits_of(session, status.id)
    if not edits:
        media = await q.media_of_status(session, status.id) if status.has_media else []
        return [Version(status.content, status.spoiler_text, status.sensitive, status.created_at, account, media)]
    media_by_id = await q.media_by_ids(session, (i for e in edits for i in e.media_ids or []))
    return [
        Version(
            e.content, e.spoiler_text, e.sensitive, e.created_at, account,
            [media_by_id[i] for i in e.media_ids or [] if i in media_by_id],
        )
        for e in edits
    ]
