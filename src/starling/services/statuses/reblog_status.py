"""Reblogging (boosting) and undoing it; reblogging twice gives back the first reblog."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, Unprocessable
from starling.domain.ids import new_id
from starling.domain.visibility import OPEN, may_reblog
from starling.jobs.queue import enqueue
from starling.models import Account, Status
from starling.models.base import utcnow
from starling.repositories import status_queries as q
from starling.repositories.statuses import get_status
from starling.services.statuses.lookup import visible_original
from starling.streaming.emit import stream_reblog_deleted, stream_status

REBLOG_VISIBILITIES = ("public", "unlisted", "private")


def _may_reblog(status: Status, account: Account) -> bool:
    """Anyone may reblog what is open to all; authors may also reblog their own followers-only posts."""
    return may_reblog(status.visibility) or (status.visibility == "private" and status.account_id == account.id)


async def reblog_status(
    session: AsyncSession, account: Account, status_id: int, visibility: str | None = None,
    application_id: int | None = None,
) -> Status:
    """The reblog (a status wrapping the original), created unless the account reblogged it already."""
    original = await visible_original(session, status_id, account.id)
    if not _may_reblog(original, account):
        raise Forbidden("This action is not allowed")
    if visibility not in (None, "") and visibility not in REBLOG_VISIBILITIES:
        raise Unprocessable("Validation failed: Visibility is not included in the list")
    await q.lock_row(session, Status, original.id)
    existing = await q.reblog_by(session, account.id, original.id)
    if existing is not None:
        return existing
    chosen = visibility or "public"
    if original.visibility not in OPEN:
        chosen = original.visibility
    now = utcnow()
    reblog = Status(
        id=new_id(), account_id=account.id, uri=None, url=None, local=True, text="", content="",
        spoiler_text="", sensitive=False, visibility=chosen, language=None, in_reply_to_id=None,
        in_reply_to_account_id=None, reblog_of_id=original.id, conversation_id=None,
        application_id=application_id, has_media=False, replies_count=0, reblogs_count=0,
        favourites_count=0, created_at=now, edited_at=None,
    )
    session.add(reblog)
    await session.flush()
    await q.add_to_counter(session, Status, original.id, "reblogs_count", 1)
    await q.add_to_counter(session, Account, account.id, "statuses_count", 1)
    account.last_status_at = now
    enqueue(session, "fan_out_status", {"status_id": reblog.id})
    enqueue(session, "notify_reblog", {"status_id": reblog.id})
    await stream_status(session, "update", reblog)
    return reblog


async def unreblog_status(session: AsyncSession, account: Account, status_id: int) -> Status:
    """The original status, after the account's reblog of it (if any) is gone.

    A reblog can be undone even when its original is no longer visible to the account."""
    asked = await get_status(session, status_id)
    original_id = asked.reblog_of_id if asked is not None and asked.reblog_of_id is not None else status_id
    original = await get_status(session, original_id)
    if original is None:
        return await visible_original(session, status_id, account.id)
    await q.lock_row(session, Status, original.id)
    reblog = await q.reblog_by(session, account.id, original.id)
    if reblog is None:
        return await visible_original(session, status_id, account.id)
    stream_reblog_deleted(session, reblog.id, account.id, original)
    await q.delete_statuses(session, [reblog.id])
    await q.add_to_counter(session, Status, original.id, "reblogs_count", -1)
    await q.add_to_counter(session, Account, account.id, "statuses_count", -1)
    enqueue(session, "remove_status_from_feeds", {"status_id": reblog.id})
    return original
