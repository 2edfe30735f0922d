"""The signed-in user's own account, with what only they see (``GET /api/v1/accounts/verify_credentials``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import Account, User
from starling.repositories.accounts import count_follow_requests


@dataclass
class Credentials:
    account: Account
    user: User
    follow_requests_count: int


async def verify_credentials(session: AsyncSession, account: Account, user: User) -> Credentials:
    count = await count_follow_requests(session, account.id)
    return Credentials(account=account, user=user, follow_requests_count=count)
