"""Mastodon API: search (``/api/v2/search`` and ``/api/v1/accounts/search``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.ids import parse_id
from starling.models import Tag
from starling.services.search.search_accounts import search_accounts
from starling.services.search.search_all import SearchQuery, search_all
from starling.web.deps import Ctx, public
from starling.web.mastodon.present import accounts_json, base_url, statuses_json
from starling.web.mastodon.render import to_mastodon_tag
from starling.web.pagination import read_page
from starling.web.params import read_params
from starling.web.responses import json_response

router = APIRouter()


def _tags_json(ctx: Ctx, tags: list[Tag]) -> list[dict[str, Any]]:
    base = base_url(ctx)
    out = []
    for tag in tags:
        data = {"id": str(tag.id), **to_mastodon_tag(tag, base), "history": []}
        if ctx.account_or_none is not None:
            data["following"] = False
        out.append(data)
    return out


def _account_filter(raw: object) -> int | None:
    """An ``account_id`` that is no id names no account, so no status matches (as Mastodon)."""
    if raw is None or raw == "":
        return None
    return parse_id(raw) or 0


@router.get("/api/v2/search")
async def search(request: Request, ctx: Ctx = Depends(public("read:search"))) -> Response:
    params = await read_params(request)
    params.get_bool("exclude_unreviewed")
    query = SearchQuery(
        q=params.get_str("q"),
        type=params.get_str("type"),
        page=read_page(request, default=20, maximum=40),
        offset=params.get_int("offset", 0, minimum=0) or 0,
        resolve=bool(params.get_bool("resolve", False)),
        following=bool(params.get_bool("following", False)),
        account_id=_account_filter(params.raw("account_id")),
    )
    results = await search_all(ctx.session, ctx.account_or_none, query, ctx.container.settings.server_name)
    return json_response({
        "accounts": accounts_json(ctx, results.accounts),
        "statuses": await statuses_json(ctx, results.statuses),
        "hashtags": _tags_json(ctx, results.hashtags),
    })


@router.get("/api/v1/accounts/search")
async def account_search(request: Request, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    params = await read_params(request)
    accounts = await search_accounts(
        ctx.session, ctx.account_or_none, params.get_str("q"), ctx.container.settings.server_name,
        limit=params.get_int("limit", 40, minimum=1, maximum=80, clamp=True) or 40,
        offset=params.get_int("offset", 0, minimum=0) or 0,
        following=bool(params.get_bool("following", False)),
        resolve=bool(params.get_bool("resolve", False)),
    )
    return json_response(accounts_json(ctx, accounts))
