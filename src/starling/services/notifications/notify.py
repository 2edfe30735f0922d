"""Creating a notification: idempotent, and silent where the recipient would not want it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.models import Account, Notification
from starling.models.base import utcnow
from starling.repositories.relationships import blocked_either_way, mute_of
from starling.streaming.emit import stream_notification

TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
         "admin.sign_up", "admin.report")


async def notify(
    session: AsyncSession,
    *,
    account_id: int,
    from_account_id: int,
    type: str,
    activity_id: int,
    status_id: int | None = None,
) -> Notification | None:
    """Create the notification unless it exists already (same recipient, type and cause),
    the recipient is not local, the two block each other, or the recipient muted the sender
    with notifications hidden. Returns the notification, or None when none was made."""
    if account_id == from_account_id:
        return None
    recipient = await session.get(Account, account_id)
    if recipient is None or recipient.domain is not None:
        return None
    existing = (
        await session.execute(
            select(Notification).where(
                Notification.account_id == account_id,
                Notification.type == type,
                Notification.activity_id == activity_id,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    if await blocked_either_way(session, account_id, from_account_id):
        return None
    mute = await mute_of(session, account_id, from_account_id)
    if mute is not None and mute.hide_notifications:
        return None
    notification = Notification(
        id=new_id(),
        account_id=account_id,
        from_account_id=from_account_id,
        type=type,
        activity_id=activity_id,
        status_id=status_id,
        created_at=utcnow(),
    )
    session.add(notification)
    await session.flush()
    stream_notification(session, notification)
    return notification
