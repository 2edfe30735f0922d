"""Queries on the social graph: single edges, listings paged by edge id, relationship batches, counters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from starling.domain.paging import Page
from starling.models import Account, Block, Follow, FollowRequest, Mute, Notification
from starling.models.base import utcnow
from starling.repositories.paging import newest_first, paginate


def mute_active(now: datetime | None = None) -> ColumnElement[bool]:
    """Condition: the mute row has not expired (an expired mute behaves as absent)."""
    cond: ColumnElement[bool] = or_(Mute.expires_at.is_(None), Mute.expires_at > (now or utcnow()))
    return cond


async def get_follow(session: AsyncSession, account_id: int, target_id: int) -> Follow | None:
    stmt = select(Follow).where(Follow.account_id == account_id, Follow.target_account_id == target_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_follow_request(session: AsyncSession, account_id: int, target_id: int) -> FollowRequest | None:
    stmt = select(FollowRequest).where(
        FollowRequest.account_id == account_id, FollowRequest.target_account_id == target_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_block(session: AsyncSession, account_id: int, target_id: int) -> Block | None:
    stmt = select(Block).where(Block.account_id == account_id, Block.target_account_id == target_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_mute_row(session: AsyncSession, account_id: int, target_id: int) -> Mute | None:
    """The mute row whether or not it has expired (for writes that replace or remove it)."""
    stmt = select(Mute).where(Mute.account_id == account_id, Mute.target_account_id == target_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def adjust_follow_counters(session: AsyncSession, follower_id: int, target_id: int, delta: int) -> None:
    """Move ``following_count`` of the follower and ``followers_count`` of the target by ``delta``,
    in SQL so concurrent writers never lose an update, and never below zero."""
    await session.execute(
        update(Account)
        .where(Account.id == follower_id)
        .values(following_count=_bounded(Account.following_count, delta)),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        update(Account)
        .where(Account.id == target_id)
        .values(followers_count=_bounded(Account.followers_count, delta)),
        execution_options={"synchronize_session": False},
    )
    await session.execute(
        select(Account).where(Account.id.in_([follower_id, target_id])).execution_options(populate_existing=True)
    )


def _bounded(column: Any, delta: int) -> Any:
    if delta >= 0:
        return column + delta
    return case((column + delta > 0, column + delta), else_=0)


async def delete_follow(session: AsyncSession, follow: Follow) -> bool:
    """Delete the follow and the notification it caused. True when this call removed it."""
    result = await session.execute(
        delete(Follow).where(Follow.id == follow.id), execution_options={"synchronize_session": "fetch"}
    )
    removed = bool(getattr(result, "rowcount", 0))
    if removed:
        await _delete_activity_notifications(session, "follow", follow.id)
    return removed


async def delete_follow_request(session: AsyncSession, request: FollowRequest) -> bool:
    """Delete the request and its notification. True when this call removed it."""
    result = await session.execute(
        delete(FollowRequest).where(FollowRequest.id == request.id),
        execution_options={"synchronize_session": "fetch"},
    )
    removed = bool(getattr(result, "rowcount", 0))
    if removed:
        await _delete_activity_notifications(session, "follow_request", request.id)
    return removed


async def _delete_activity_notifications(session: AsyncSession, type_: str, activity_id: int) -> None:
    await session.execute(
        delete(Notification).where(Notification.type == type_, Notification.activity_id == activity_id),
        execution_options={"synchronize_session": False},
    )


async def delete_notifications_between(session: AsyncSession, recipient_id: int, sender_id: int) -> None:
    """Remove what ``sender_id`` caused in ``recipient_id``'s notifications (after a block)."""
    await session.execute(
        delete(Notification).where(
            Notification.account_id == recipient_id, Notification.from_account_id == sender_id
        ),
        execution_options={"synchronize_session": False},
    )


# --- relationships -----------------------------------------------------------------------------


@dataclass
class Relationship:
    """What the viewer and one other account are to each other."""

    account_id: int
    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    muting_expires_at: datetime | None = None
    requested: bool = False
    requested_by: bool = False


async def load_relationships(
    session: AsyncSession, viewer_id: int, target_ids: Iterable[int]
) -> dict[int, Relationship]:
    """Relationships of ``viewer_id`` to each target, in four queries whatever the number of targets."""
    ids = list(dict.fromkeys(target_ids))
    out = {i: Relationship(account_id=i) for i in ids}
    if not ids:
        return out

    follows = await session.execute(
        select(Follow.account_id, Follow.target_account_id, Follow.show_reblogs, Follow.notify).where(
            _either_way(Follow, viewer_id, ids)
        )
    )
    for account_id, target_id, show_reblogs, notify in follows:
        if account_id == viewer_id and target_id in out:
            rel = out[target_id]
            rel.following = True
            rel.showing_reblogs = bool(show_reblogs)
            rel.notifying = bool(notify)
        if target_id == viewer_id and account_id in out:
            out[account_id].followed_by = True

    requests = await session.execute(
        select(
            FollowRequest.account_id, FollowRequest.target_account_id, FollowRequest.show_reblogs,
            FollowRequest.notify,
        ).where(_either_way(FollowRequest, viewer_id, ids))
    )
    for account_id, target_id, show_reblogs, notify in requests:
        if account_id == viewer_id and target_id in out:
            rel = out[target_id]
            rel.requested = True
            if not rel.following:
                rel.showing_reblogs = bool(show_reblogs)
                rel.notifying = bool(notify)
        if target_id == viewer_id and account_id in out:
            out[account_id].requested_by = True

    blocks = await session.execute(
        select(Block.account_id, Block.target_account_id).where(_either_way(Block, viewer_id, ids))
    )
    for account_id, target_id in blocks:
        if account_id == viewer_id and target_id in out:
            out[target_id].blocking = True
        if target_id == viewer_id and account_id in out:
            out[account_id].blocked_by = True

    mutes = await session.execute(
        select(Mute.target_account_id, Mute.hide_notifications, Mute.expires_at).where(
            Mute.account_id == viewer_id, Mute.target_account_id.in_(ids), mute_active()
        )
    )
    for target_id, hide_notifications, expires_at in mutes:
        rel = out[target_id]
        rel.muting = True
        rel.muting_notifications = bool(hide_notifications)
        rel.muting_expires_at = expires_at
    return out


def _either_way(model: Any, viewer_id: int, ids: list[int]) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = or_(
        and_(model.account_id == viewer_id, model.target_account_id.in_(ids)),
        and_(model.target_account_id == viewer_id, model.account_id.in_(ids)),
    )
    return cond


async def existing_account_ids(session: AsyncSession, ids: list[int], *, with_suspended: bool) -> set[int]:
    if not ids:
        return set()
    stmt = select(Account.id).where(Account.id.in_(ids))
    if not with_suspended:
        stmt = stmt.where(Account.suspended_at.is_(None))
    return set((await session.execute(stmt)).scalars())


# --- listings ----------------------------------------------------------------------------------


@dataclass
class Listed:
    """An account in a listing, with the id of the edge that pages it."""

    cursor: int
    account: Account
    expires_at: datetime | None = None


async def _accounts_page(session: AsyncSession, stmt: Any, cursor: Any, page: Page) -> list[Listed]:
    rows = (await session.execute(paginate(stmt.where(Account.suspended_at.is_(None)), cursor, page))).all()
    return [Listed(cursor=row[0], account=row[1]) for row in newest_first(list(rows), page)]


async def followers_page(session: AsyncSession, account_id: int, page: Page) -> list[Listed]:
    stmt = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.account_id)
        .where(Follow.target_account_id == account_id)
    )
    return await _accounts_page(session, stmt, Follow.id, page)


async def following_page(session: AsyncSession, account_id: int, page: Page) -> list[Listed]:
    stmt = (
        select(Follow.id, Account)
        .join(Account, Account.id == Follow.target_account_id)
        .where(Follow.account_id == account_id)
    )
    return await _accounts_page(session, stmt, Follow.id, page)


async def follow_requests_page(session: AsyncSession, account_id: int, page: Page) -> list[Listed]:
    """Accounts asking to follow ``account_id``."""
    stmt = (
        select(FollowRequest.id, Account)
        .join(Account, Account.id == FollowRequest.account_id)
        .where(FollowRequest.target_account_id == account_id)
    )
    return await _accounts_page(session, stmt, FollowRequest.id, page)


async def blocks_page(session: AsyncSession, account_id: int, page: Page) -> list[Listed]:
    stmt = (
        select(Block.id, Account)
        .join(Account, Account.id == Block.target_account_id)
        .where(Block.account_id == account_id)
    )
    return await _accounts_page(session, stmt, Block.id, page)


async def mutes_page(session: AsyncSession, account_id: int, page: Page) -> list[Listed]:
    """Active mutes only; each entry carries when the mute ends."""
    stmt: Any = (
        select(Mute.id, Account, Mute.expires_at)
        .join(Account, Account.id == Mute.target_account_id)
        .where(Mute.account_id == account_id, mute_active(), Account.suspended_at.is_(None))
    )
    rows = (await session.execute(paginate(stmt, Mute.id, page))).all()
    return [Listed(cursor=r[0], account=r[1], expires_at=r[2]) for r in newest_first(list(rows), page)]
