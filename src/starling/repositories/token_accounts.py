"""Which account an access token speaks for, for rate limiting before the request is authenticated."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import AccessToken, User


async def account_id_for_token_hash(session: AsyncSession, token_hash: str) -> int | None:
    """None for an unknown or revoked token, or one that belongs to an application rather than a user."""
    result = await session.execute(
        select(User.account_id)
        .join(AccessToken, AccessToken.user_id == User.id)
        .where(AccessToken.token_hash == token_hash, AccessToken.revoked_at.is_(None))
    )
    return result.scalar_one_or_none()
