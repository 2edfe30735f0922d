"""Revoking an access token (RFC 7009): only the client it was issued to may revoke it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from starling.models.base import utcnow
from starling.repositories.oauth import find_token
from starling.services.oauth.clients import authenticate_client
from starling.services.oauth.errors import OAuthError, invalid_request
from starling.streaming.emit import token_revoked


async def revoke_token(
    session: AsyncSession, client_id: str | None, client_secret: str | None, raw_token: str | None
) -> None:
    app = await authenticate_client(session, client_id, client_secret)
    if not raw_token:
        raise invalid_request("The request is missing a required parameter: token.")
    token = await find_token(session, raw_token)
    if token is None or token.revoked_at is not None:
        return
    if token.application_id != app.id:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", status_code=403)
    token.revoked_at = utcnow()
    await session.flush()
    token_revoked(session, token.id)
