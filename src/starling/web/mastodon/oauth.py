"""OAuth 2 token and revocation endpoints (the authorization page lives in ``web.html.authorize``)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import StarlingError
from starling.models import AccessToken
from starling.services.oauth.errors import OAuthError, invalid_request
from starling.services.oauth.grant_token import TokenRequest, grant_token
from starling.services.oauth.revoke_token import revoke_token
from starling.web.deps import Ctx, anonymous, anonymous_reads_first, auth
from starling.web.mastodon import urls
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_json(token: AccessToken, raw: str) -> dict[str, Any]:
    return {
        "access_token": raw,
        "token_type": "Bearer",
        "scope": token.scopes,
        "created_at": int(token.created_at.timestamp()),
    }


def oauth_error_response(exc: OAuthError) -> Response:
    headers = dict(NO_STORE)
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="Starling"'
    body = {"error": exc.error, "error_description": exc.description or exc.error}
    return json_response(body, status_code=exc.status_code, headers=headers)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """HTTP Basic client authentication (RFC 6749 §2.3.1: both parts form-encoded)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


async def _read(request: Request) -> tuple[Params, str | None, str | None]:
    try:
        params = await read_params(request)
        client_id, secret = params.get_str("client_id"), params.get_str("client_secret")
    except StarlingError as exc:
        raise invalid_request(exc.message) from None
    basic = basic_credentials(request)
    if basic is not None:
        client_id, secret = basic
    return params, client_id, secret


def _text(params: Params, key: str) -> str | None:
    try:
        return params.get_str(key)
    except StarlingError:
        raise invalid_request(f"The parameter {key} must be a string.") from None


@router.post("/oauth/token")
async def token(request: Request, ctx: Ctx = Depends(anonymous_reads_first)) -> Response:
    try:
        params, client_id, secret = await _read(request)
        fields = ("grant_type", "code", "redirect_uri", "code_verifier", "username", "password", "scope")
        values = {name: _text(params, name) for name in fields}
        issued, raw = await grant_token(
            ctx.session, TokenRequest(client_id=client_id, client_secret=secret, **values),
            begin_writes=ctx.start_writing,
        )
    except OAuthError as exc:
        await ctx.session.rollback()
        return oauth_error_response(exc)
    await ctx.commit()
    return json_response(token_json(issued, raw), headers=NO_STORE)


@router.post("/oauth/revoke")
async def revoke(request: Request, ctx: Ctx = Depends(anonymous)) -> Response:
    try:
        params, client_id, secret = await _read(request)
        await revoke_token(ctx.session, client_id, secret, _text(params, "token"))
    except OAuthError as exc:
        await ctx.session.rollback()
        return oauth_error_response(exc)
    await ctx.commit()
    return json_response({})


@router.api_route("/oauth/userinfo", methods=["GET", "POST"])
async def userinfo(ctx: Ctx = Depends(auth(("profile", "read:accounts")))) -> Response:
    """OpenID Connect-style profile of the token's user, as Mastodon serves it."""
    account = ctx.account
    base = ctx.container.settings.base_url
    return json_response({
        "iss": base + "/",
        "sub": urls.account_uri(base, account),
        "name": account.display_name or account.username,
        "preferred_username": account.username,
        "profile": urls.account_url(base, account),
        "picture": urls.avatar_url(base, account),
    })
