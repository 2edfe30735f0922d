"""The access tokens a user has granted, with the application each was issued to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.models import AccessToken, Application


async def active_tokens(session: AsyncSession, user_id: int) -> list[tuple[AccessToken, Application | None]]:
    """Unrevoked tokens of the user, newest first."""
    stmt = (
        select(AccessToken, Application)
        .outerjoin(Application, Application.id == AccessToken.application_id)
        .where(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.id.desc())
    )
    return [(token, app) for token, app in (await session.execute(stmt)).all()]


async def revoke_user_tokens(
    session: AsyncSession, user_id: int, *, token_id: int | None = None, application_id: int | None = None,
    at: datetime,
) -> int:
    """Revoke one token, or every token of one application, of this user only; the number revoked."""
    stmt = update(AccessToken).where(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(AccessToken.id == token_id)
    if application_id is not None:
        stmt = stmt.where(AccessToken.application_id == application_id)
    result = await session.execute(stmt.values(revoked_at=at).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
