"""Lookups on the social graph used across services (follows, blocks, mutes)."""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Block, Follow, Mute
from starling.models.base import utcnow


async def is_following(session: AsyncSession, account_id: int, target_id: int) -> bool:
    stmt = select(exists().where(Follow.account_id == account_id, Follow.target_account_id == target_id))
    return bool(await session.scalar(stmt))


async def blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    stmt = select(
        exists().where(
            or_(
                and_(Block.account_id == a, Block.target_account_id == b),
                and_(Block.account_id == b, Block.target_account_id == a),
            )
        )
    )
    return bool(await session.scalar(stmt))


async def has_blocked(session: AsyncSession, account_id: int, target_id: int) -> bool:
    stmt = select(exists().where(Block.account_id == account_id, Block.target_account_id == target_id))
    return bool(await session.scalar(stmt))


async def mute_of(session: AsyncSession, account_id: int, target_id: int) -> Mute | None:
    """The active (not expired) mute of ``target_id`` by ``account_id``."""
    mute = (
        await session.execute(
            select(Mute).where(Mute.account_id == account_id, Mute.target_account_id == target_id)
        )
    ).scalar_one_or_none()
    if mute is not None and mute.expires_at is not None and mute.expires_at <= utcnow():
        return None
    return mute
