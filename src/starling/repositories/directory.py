"""The profile directory: accounts that chose to be discoverable, newest or most recently active first."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, Block, Mute, User
from starling.models.base import utcnow

DirectoryOrder = Literal["active", "new"]


async def directory_accounts(
    session: AsyncSession,
    *,
    viewer_id: int | None,
    local_only: bool,
    order: DirectoryOrder,
    offset: int,
    limit: int,
) -> list[Account]:
    approved_user = exists().where(
        User.account_id == Account.id, User.approved.is_(True), User.confirmed.is_(True)
    )
    stmt = select(Account).where(
        Account.discoverable.is_(True),
        Account.suspended_at.is_(None),
        or_(Account.domain.is_not(None), approved_user),
    )
    if local_only:
        stmt = stmt.where(Account.domain.is_(None))
    if viewer_id is not None:
        stmt = stmt.where(
            ~exists().where(
                or_(
                    and_(Block.account_id == viewer_id, Block.target_account_id == Account.id),
                    and_(Block.account_id == Account.id, Block.target_account_id == viewer_id),
                )
            ),
            ~exists().where(
                Mute.account_id == viewer_id,
                Mute.target_account_id == Account.id,
                or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
            ),
        )
    if order == "new":
        stmt = stmt.order_by(Account.created_at.desc(), Account.id.desc())
    else:
        stmt = stmt.order_by(
            Account.last_status_at.is_(None), Account.last_status_at.desc(), Account.id.desc()
        )
    return list((await session.execute(stmt.offset(offset).limit(limit))).scalars())
