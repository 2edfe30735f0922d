"""The backfills Starling ships (registered with :func:`starling.jobs.backfill.backfill`)."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.jobs.backfill import backfill
from starling.models import Account, Follow, Status


@backfill(
    "account_counts",
    description="Recompute local accounts' statuses, followers and following counts from the rows they count.",
    id_column=Account.id,
    batch_size=500,
)
async def recount_accounts(session: AsyncSession, first_id: int, last_id: int) -> int:
    """Counters drift if a write path ever forgets one; this sets them to what the rows say.

    Direct messages do not count as statuses (as when posting). Only rows that differ are written.
    """
    statuses = (
        select(func.count(Status.id))
        .where(Status.account_id == Account.id, Status.visibility != "direct")
        .scalar_subquery()
    )
    followers = select(func.count()).select_from(Follow).where(Follow.target_account_id == Account.id).scalar_subquery()
    following = select(func.count()).select_from(Follow).where(Follow.account_id == Account.id).scalar_subquery()
    result = await session.execute(
        update(Account)
        .where(
            Account.id.between(first_id, last_id),
            Account.domain.is_(None),
            or_(Account.statuses_count != statuses, Account.followers_count != followers,
                Account.following_count != following),
        )
        .values(statuses_count=statuses, followers_count=followers, following_count=following)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
