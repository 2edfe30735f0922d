"""Mastodon API: the profile directory."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.services.instance.list_directory import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    DirectoryQuery,
    directory_order,
    list_directory,
)
from starling.web.deps import Ctx, public
from starling.web.mastodon.present import accounts_json
from starling.web.params import read_params
from starling.web.responses import json_response

router = APIRouter()


@router.get("/api/v1/directory")
async def get_directory(request: Request, ctx: Ctx = Depends(public())) -> Response:
    params = await read_params(request)
    query = DirectoryQuery(
        order=directory_order(params.get_str("order")),
        local_only=bool(params.get_bool("local", False)),
        offset=params.get_int("offset", 0, minimum=0, clamp=True) or 0,
        limit=params.get_int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or DEFAULT_LIMIT,
    )
    viewer = ctx.account_or_none
    accounts = await list_directory(ctx.session, viewer.id if viewer else None, query)
    return json_response(accounts_json(ctx, accounts))
