"""The token endpoint (RFC 6749 §4): authorization code (with PKCE), password and client credentials."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.errors import Forbidden, Unauthorized
from starling.models import AccessToken, Application
from starling.models.base import utcnow
from starling.repositories.accounts import get_account, get_user
from starling.repositories.oauth import find_code, mark_code_used
from starling.services.accounts.authenticate import authenticate
from starling.services.oauth.clients import authenticate_client, requested_scopes
from starling.services.oauth.errors import OAuthError, invalid_grant, invalid_request
from starling.services.oauth.issue_token import issue_token

GRANT_TYPES = ("authorization_code", "password", "client_credentials")


@dataclass
class TokenRequest:
    grant_type: str | None
    client_id: str | None = None
    client_secret: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    username: str | None = None
    password: str | None = None
    scope: str | None = None


async def _nothing() -> None:
    return None


async def grant_token(
    session: AsyncSession, request: TokenRequest, *, begin_writes: Callable[[], Awaitable[None]] = _nothing
) -> tuple[AccessToken, str]:
    """Returns the stored token and the raw token (shown to the client once).

    ``begin_writes`` is awaited once everything this grant must read and check (the client, the code, the
    password) has been read and checked, just before the first write: the caller can end its reads there,
    so that checking a password never holds SQLite's write lock."""
    if not request.grant_type:
        raise invalid_request("The request is missing a required parameter: grant_type.")
    if request.grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported by the server.")
    app = await authenticate_client(session, request.client_id, request.client_secret)
    if request.grant_type == "authorization_code":
        return await _from_code(session, app, request, begin_writes)
    if request.grant_type == "password":
        return await _from_password(session, app, request, begin_writes)
    scopes = requested_scopes(app, request.scope)
    await begin_writes()
    return await issue_token(session, application_id=app.id, user_id=None, scopes=scopes)


async def _from_code(session: AsyncSession, app: Application, request: TokenRequest,
                     begin_writes: Callable[[], Awaitable[None]]) -> tuple[AccessToken, str]:
    if not request.code:
        raise invalid_request("The request is missing a required parameter: code.")
    code = await find_code(session, request.code)
    now = utcnow()
    if code is None or code.application_id != app.id or code.used_at is not None or code.expires_at <= now:
        raise invalid_grant()
    if request.redirect_uri is not None:
        if request.redirect_uri != code.redirect_uri:
            raise invalid_grant()
    elif app.redirect_uris.split() != [code.redirect_uri]:
        raise invalid_request("The request is missing a required parameter: redirect_uri.")
    if code.code_challenge is not None:
        if not request.code_verifier:
            raise invalid_request("The request is missing a required parameter: code_verifier.")
        expected = create_s256_code_challenge(request.code_verifier)
        if not hmac.compare_digest(expected.encode(), code.code_challenge.encode()):
            raise invalid_grant("The code_verifier does not match the code_challenge.")
    elif request.code_verifier:
        raise invalid_grant("A code_verifier was given but the authorization request had no code_challenge.")
    await begin_writes()
    if not await mark_code_used(session, code.id, now):
        raise invalid_grant()
    user = await get_user(session, code.user_id)
    account = await get_account(session, user.account_id) if user is not None else None
    if user is None or account is None or account.suspended_at is not None or not user.approved:
        raise invalid_grant("The user's login is not active.")
    return await issue_token(session, application_id=app.id, user_id=user.id, scopes=code.scopes.split())


async def _from_password(session: AsyncSession, app: Application, request: TokenRequest,
                         begin_writes: Callable[[], Awaitable[None]]) -> tuple[AccessToken, str]:
    if not request.username or not request.password:
        raise invalid_request("The request is missing a required parameter: username and password.")
    scopes = requested_scopes(app, request.scope)
    try:
        user, _account = await authenticate(session, request.username, request.password)
    except (Unauthorized, Forbidden) as exc:
        raise invalid_grant(exc.message) from None
    await begin_writes()
    return await issue_token(session, application_id=app.id, user_id=user.id, scopes=scopes)
