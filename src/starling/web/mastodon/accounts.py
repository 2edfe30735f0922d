"""Mastodon API: accounts (registration, one's own credentials, and viewing accounts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unprocessable
from starling.services.accounts.show_accounts import lookup_account, show_account, show_accounts
from starling.services.accounts.sign_up import SignUp, sign_up_through_app
from starling.services.accounts.update_credentials import ProfileChanges, update_credentials
from starling.services.accounts.verify_credentials import Credentials, verify_credentials
from starling.services.media.setup import media_setup
from starling.services.media.source import UploadSource
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon.oauth import token_json
from starling.web.mastodon.present import account_json, accounts_json, base_url, path_id
from starling.web.mastodon.render import to_mastodon_credential_account
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()


def credential_json(ctx: Ctx, creds: Credentials) -> dict[str, Any]:
    data = to_mastodon_credential_account(creds.account, creds.user, base_url(ctx))
    data["source"]["follow_requests_count"] = creds.follow_requests_count
    return data


@router.post("/api/v1/accounts")
async def register(request: Request, ctx: Ctx = Depends(auth("write:accounts", user=False))) -> Response:
    params = await read_params(request)
    data = SignUp(
        username=params.get_str("username") or "",
        email=params.get_str("email") or "",
        password=params.get_str("password") or "",
        agreement=bool(params.get_bool("agreement", False)),
        locale=params.get_str("locale") or "en",
        reason=params.get_str("reason"),
    )
    viewer = ctx.viewer
    assert viewer is not None
    done = await sign_up_through_app(
        ctx.session, ctx.container.settings, viewer.application, sorted(viewer.scopes), data
    )
    await ctx.commit()
    return json_response(token_json(done.token, done.raw_token))


@router.get("/api/v1/accounts/verify_credentials")
async def verify_account_credentials(ctx: Ctx = Depends(auth(("read:accounts", "profile")))) -> Response:
    creds = await verify_credentials(ctx.session, ctx.account, ctx.user)
    return json_response(credential_json(ctx, creds))


def _picture(params: Params, key: str) -> UploadSource | None:
    """A new avatar or header; an empty field (a form's file input left blank) changes nothing."""
    value = params.raw(key)
    if value is None or value == "":
        return None
    if not isinstance(value, UploadFile):
        raise Unprocessable(f"Validation failed: {key} must be a file", field=key)
    if not value.filename and not value.size:
        return None
    return UploadSource(stream=value.file, filename=value.filename or "", content_type=value.content_type)


def _fields(params: Params) -> list[tuple[str, str]] | None:
    if params.raw("fields_attributes") is None and params.raw("fields_attributes[]") is None:
        return None
    out = []
    for item in params.get_list("fields_attributes"):
        if item == "":
            continue
        if not isinstance(item, dict):
            raise Unprocessable("Validation failed: fields_attributes must be a list of name and value pairs")
        pair = Params(item)
        out.append((pair.get_str("name") or "", pair.get_str("value") or ""))
    return out


def profile_changes(params: Params) -> ProfileChanges:
    source = params.get_sub("source")
    params.get_bool("hide_collections")  # accepted and checked; not stored yet
    return ProfileChanges(
        display_name=params.get_str("display_name"),
        note=params.get_str("note"),
        locked=params.get_bool("locked"),
        bot=params.get_bool("bot"),
        discoverable=params.get_bool("discoverable"),
        indexable=params.get_bool("indexable"),
        fields=_fields(params),
        privacy=source.get_str("privacy"),
        sensitive=source.get_bool("sensitive"),
        language=source.get_str("language"),
        avatar=_picture(params, "avatar"),
        header=_picture(params, "header"),
    )


@router.patch("/api/v1/accounts/update_credentials")
async def update_account_credentials(request: Request, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    changes = profile_changes(await read_params(request))
    settings = ctx.container.settings
    creds = await update_credentials(
        ctx.session, ctx.account, ctx.user, changes, base_url=settings.base_url, local_domain=settings.server_name,
        media=media_setup(settings),
    )
    await ctx.commit()
    return json_response(credential_json(ctx, creds))


@router.get("/api/v1/accounts/lookup")
async def lookup(request: Request, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    acct = request.query_params.get("acct")
    account = await lookup_account(ctx.session, acct, ctx.container.settings.server_name)
    return json_response(account_json(ctx, account))


@router.get("/api/v1/accounts")
async def list_accounts(request: Request, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    params = await read_params(request)
    accounts = await show_accounts(ctx.session, params.get_id_list("id"))
    return json_response(accounts_json(ctx, accounts))


@router.get("/api/v1/accounts/{account_id}")
async def show(account_id: str, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    return json_response(account_json(ctx, await show_account(ctx.session, path_id(account_id))))
