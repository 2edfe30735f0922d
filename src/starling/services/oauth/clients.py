"""Client authentication and the scopes a client may ask for."""

from __future__ import annotations

import hmac

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.scopes import parse_scopes, subset_of, unknown_scopes
from starling.models import Application
from starling.repositories.oauth import find_application
from starling.services.oauth.errors import OAuthError, invalid_client, invalid_scope

DEFAULT_SCOPE = "read"


async def authenticate_client(session: AsyncSession, client_id: str | None, client_secret: str | None) -> Application:
    if not client_id or not client_secret:
        raise invalid_client()
    app = await find_application(session, client_id)
    if app is None or not hmac.compare_digest(app.client_secret.encode(), client_secret.encode()):
        raise invalid_client()
    return app


def default_scopes(app: Application) -> list[str]:
    """What a client gets when it asks for no scope: ``read`` when it registered it, else all it registered."""
    registered = app.scopes.split()
    return [DEFAULT_SCOPE] if DEFAULT_SCOPE in registered else registered


def requested_scopes(app: Application, scope: str | None, *, error: OAuthError | None = None) -> list[str]:
    """The scopes asked for, which must be known and within what the application registered."""
    if not scope or not scope.replace("+", " ").strip():
        return default_scopes(app)
    scopes = parse_scopes(scope)
    if unknown_scopes(scopes) or not subset_of(scopes, app.scopes.split()):
        raise error or invalid_scope()
    return scopes
