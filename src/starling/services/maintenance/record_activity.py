"""Store a batch of counted requests in ``activity_hours`` (the web layer flushes about once a minute).

Several worker processes flush into the same hour: the request count is added, and the account
sample is merged with the stored one under the row's lock, so nothing is counted twice and no
flush overwrites another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.tokens import hash_token
from starling.models.base import utcnow
from starling.repositories import maintenance as repo
from starling.services.maintenance import sketch

# Activity older than this is deleted as new activity comes in.
RETENTION = timedelta(weeks=13)


@dataclass
class ActivityBatch:
    hour_start: datetime
    requests: int = 0
    tokens: set[str] = field(default_factory=set)  # raw bearer tokens seen
    user_ids: set[int] = field(default_factory=set)  # users of verified browser sessions


async def active_accounts(session: AsyncSession, tokens: Iterable[str], user_ids: Iterable[int]) -> set[int]:
    found = await repo.account_ids_for_tokens(session, {hash_token(t) for t in tokens})
    found |= await repo.account_ids_for_users(session, user_ids)
    return found


async def record_activity(session: AsyncSession, batch: ActivityBatch, *, now: datetime | None = None) -> None:
    hour = batch.hour_start.replace(minute=0, second=0, microsecond=0)
    accounts = await active_accounts(session, batch.tokens, batch.user_ids)
    row = await repo.lock_activity_hour(session, hour)
    row.requests += batch.requests
    if accounts:
        sample = sketch.merge(row.account_sample, (sketch.account_hash(a) for a in accounts))
        row.account_sample = sample
        row.active_accounts = round(sketch.estimate(sample))
    row.updated_at = utcnow()
    await session.flush()
    await repo.prune_activity(session, (now or utcnow()) - RETENTION)
