"""The applications a person has let into their account, and taking that access back.

A revoked token stops working at once: every API request looks the token up and refuses revoked ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import NotFound
from starling.models import User
from starling.models.base import utcnow
from starling.repositories.authorized_apps import active_tokens, revoke_user_tokens


@dataclass(frozen=True)
class AuthorizedApp:
    token_id: int
    application_id: int | None
    name: str
    website: str | None
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


async def list_authorized_apps(session: AsyncSession, user: User) -> list[AuthorizedApp]:
    return [
        AuthorizedApp(
            token_id=token.id, application_id=token.application_id,
            name=app.name if app is not None else "Unknown application",
            website=app.website if app is not None else None, scopes=token.scopes.split(),
            created_at=token.created_at, last_used_at=token.last_used_at,
        )
        for token, app in await active_tokens(session, user.id)
    ]


async def revoke_authorized_app(session: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens; anybody else's (or an unknown one) is simply not found."""
    if await revoke_user_tokens(session, user.id, token_id=token_id, at=utcnow()) == 0:
        raise NotFound()
