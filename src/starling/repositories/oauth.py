"""Finding OAuth applications, authorization codes and access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.tokens import hash_token
from starling.models import AccessToken, Application, AuthorizationCode


async def find_application(session: AsyncSession, client_id: str) -> Application | None:
    result = await session.execute(select(Application).where(Application.client_id == client_id))
    return result.scalar_one_or_none()


async def get_application(session: AsyncSession, application_id: int) -> Application | None:
    return await session.get(Application, application_id)


async def find_code(session: AsyncSession, raw_code: str) -> AuthorizationCode | None:
    """Codes are stored as a SHA-256 of what the client holds."""
    result = await session.execute(select(AuthorizationCode).where(AuthorizationCode.code == hash_token(raw_code)))
    return result.scalar_one_or_none()


async def mark_code_used(session: AsyncSession, code_id: int, at: datetime) -> bool:
    """Claim a code once: False when another request used it first."""
    result = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def find_token(session: AsyncSession, raw_token: str) -> AccessToken | None:
    result = await session.execute(select(AccessToken).where(AccessToken.token_hash == hash_token(raw_token)))
    return result.scalar_one_or_none()
