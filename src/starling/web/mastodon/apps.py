"""Mastodon API: apps (client registration)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unauthorized, Unprocessable
from starling.models import Application
from starling.services.oauth.create_application import NewApplication, create_application
from starling.web.deps import Ctx, anonymous, auth
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()


def application_json(app: Application, *, credentials: bool = False) -> dict[str, Any]:
    uris = app.redirect_uris.split()
    data: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if credentials:
        data["client_id"] = app.client_id
        data["client_secret"] = app.client_secret
        data["client_secret_expires_at"] = 0
    return data


def _str_or_list(params: Params, key: str) -> str | list[str] | None:
    raw = params.raw(key)
    if raw is None and params.raw(key + "[]") is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list | dict) or raw is None:
        return params.get_str_list(key)
    raise Unprocessable(f"Validation failed: {key} must be a string or a list of strings")


@router.post("/api/v1/apps")
async def create_app(request: Request, ctx: Ctx = Depends(anonymous)) -> Response:
    params = await read_params(request)
    scopes = _str_or_list(params, "scopes")
    app = await create_application(
        ctx.session,
        NewApplication(
            name=params.get_str("client_name"),
            redirect_uris=_str_or_list(params, "redirect_uris"),
            scopes=" ".join(scopes) if isinstance(scopes, list) else scopes,
            website=params.get_str("website"),
        ),
    )
    await ctx.commit()
    return json_response(application_json(app, credentials=True))


@router.get("/api/v1/apps/verify_credentials")
async def verify_app_credentials(ctx: Ctx = Depends(auth(None, user=False))) -> Response:
    if ctx.viewer is None or ctx.viewer.application is None:
        raise Unauthorized("The access token is invalid")
    return json_response(application_json(ctx.viewer.application))
