"""Issuing access tokens. Only a hash of the token is stored; the raw token is shown once."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.domain.tokens import hash_token
from starling.models import AccessToken
from starling.models.base import utcnow


async def issue_token(
    session: AsyncSession, *, application_id: int | None, user_id: int | None, scopes: list[str]
) -> tuple[AccessToken, str]:
    raw = secrets.token_urlsafe(32)
    token = AccessToken(
        id=new_id(),
        token_hash=hash_token(raw),
        application_id=application_id,
        user_id=user_id,
        scopes=" ".join(scopes),
        created_at=utcnow(),
    )
    session.add(token)
    await session.flush()
    return token, raw
