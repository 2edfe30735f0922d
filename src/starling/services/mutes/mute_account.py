"""Muting an account, for good or for a while, with or without its notifications."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, NotFound
from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.models import Account, Mute
from starling.models.base import utcnow
from starling.repositories.graph import get_mute_row
from starling.services.follows.graph_edits import insert_once, load_target, unmerge_from_home
from starling.streaming.emit import graph_changed


async def mute_account(
    session: AsyncSession, account: Account, target_id: int, *, notifications: bool = True, duration: int = 0
) -> Account:
    """Mute ``target_id``; ``duration`` in seconds, 0 for no end. Muting again replaces both
    settings. Returns the target."""
    target = await load_target(session, target_id)
    if target.id == account.id:
        raise Forbidden("You cannot mute yourself")
    now = utcnow()
    expires_at = now + timedelta(seconds=duration) if duration > 0 else None

    mute = await get_mute_row(session, account.id, target.id)
    if mute is not None and mute.expires_at is not None and mute.expires_at <= now:
        await session.execute(
            delete(Mute).where(Mute.id == mute.id), execution_options={"synchronize_session": "fetch"}
        )
        mute = None
    if mute is None:
        mute = Mute(
            id=new_id(), account_id=account.id, target_account_id=target.id,
            hide_notifications=notifications, expires_at=expires_at, created_at=now,
        )
        if not await insert_once(session, mute):
            mute = await get_mute_row(session, account.id, target.id)
            if mute is None:
                raise NotFound()
    mute.hide_notifications = notifications
    mute.expires_at = expires_at
    await session.flush()

    unmerge_from_home(session, account.id, target.id)
    graph_changed(session, account.id)
    if expires_at is not None:
        enqueue(session, "expire_mute", {"mute_id": mute.id}, run_at=expires_at)
    return target
