"""The authorization-code flow's first leg: checking what a client asks for and granting a code."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from starling.domain.ids import new_id
from starling.domain.tokens import hash_token
from starling.models import Application, AuthorizationCode, User
from starling.models.base import utcnow
from starling.repositories.oauth import find_application
from starling.services.oauth.clients import requested_scopes
from starling.services.oauth.errors import OAuthError

CODE_LIFETIME = timedelta(minutes=10)
PKCE_METHOD = "S256"
_CHALLENGE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


@dataclass
class AuthorizationParams:
    response_type: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    scope: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> AuthorizationParams:
        def text(key: str) -> str | None:
            value = values.get(key)
            return value if isinstance(value, str) and value != "" else None

        return cls(**{key: text(key) for key in _FIELDS})


@dataclass
class AuthorizationRequest:
    application: Application
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def form_fields(self) -> dict[str, str]:
        """What the consent form sends back, so the decision is checked against the same request."""
        fields = {
            "response_type": "code",
            "client_id": self.application.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass
class Authorized:
    application: Application
    redirect_uri: str
    code: str
    state: str | None


async def check_authorization_request(session: AsyncSession, params: AuthorizationParams) -> AuthorizationRequest:
    """Raises :class:`OAuthError`; it carries a ``redirect_uri`` only once that URI is known to be the client's."""
    app = await find_application(session, params.client_id) if params.client_id else None
    if app is None:
        raise OAuthError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, "
            "or unsupported authentication method.",
            status_code=401,
        )
    registered = app.redirect_uris.split()
    redirect_uri = params.redirect_uri
    if redirect_uri is None and len(registered) == 1:
        redirect_uri = registered[0]
    if redirect_uri is None:
        raise OAuthError("invalid_request", "The request is missing a required parameter: redirect_uri.")
    if redirect_uri not in registered:
        raise OAuthError(
            "invalid_redirect_uri", "The requested redirect uri is malformed or doesn't match client redirect URI."
        )

    def fail(error: str, description: str) -> OAuthError:
        return OAuthError(error, description, redirect_uri=redirect_uri, state=params.state)

    if params.response_type != "code":
        if params.response_type is None:
            raise fail("invalid_request", "The request is missing a required parameter: response_type.")
        raise fail("unsupported_response_type", "The authorization server does not support this response type.")
    scopes = requested_scopes(
        app, params.scope, error=fail("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    )
    challenge, method = params.code_challenge, params.code_challenge_method
    if challenge is not None or method is not None:
        if challenge is None:
            raise fail("invalid_request", "The request is missing a required parameter: code_challenge.")
        if method != PKCE_METHOD:
            raise fail("invalid_request", "The code_challenge_method must be S256.")
        if not _CHALLENGE.match(challenge):
            raise fail("invalid_request", "The code_challenge is malformed.")
    return AuthorizationRequest(
        application=app,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=params.state,
        code_challenge=challenge,
        code_challenge_method=method,
    )


async def decide_authorization(
    session: AsyncSession, params: AuthorizationParams, user: User, *, approved: bool
) -> Authorized:
    """The signed-in user's answer: a single-use code valid for ten minutes, or ``access_denied``."""
    request = await check_authorization_request(session, params)
    if not approved:
        raise OAuthError(
            "access_denied",
            "The resource owner or authorization server denied the request.",
            redirect_uri=request.redirect_uri,
            state=request.state,
        )
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthorizationCode(
            id=new_id(),
            code=hash_token(raw),
            application_id=request.application.id,
            user_id=user.id,
            redirect_uri=request.redirect_uri,
            scopes=" ".join(request.scopes),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            expires_at=now + CODE_LIFETIME,
        )
    )
    await session.flush()
    return Authorized(application=request.application, redirect_uri=request.redirect_uri, code=raw, state=request.state)
