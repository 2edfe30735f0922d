"""Mastodon API: lists, their members, the lists holding an account, and list timelines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.models import List
from starling.services.lists.add_list_accounts import add_list_accounts
from starling.services.lists.create_list import create_list
from starling.services.lists.delete_list import delete_list
from starling.services.lists.list_members import list_members
from starling.services.lists.list_timeline import list_timeline
from starling.services.lists.remove_list_accounts import remove_list_accounts
from starling.services.lists.show_lists import list_lists, lists_with_account, show_list
from starling.services.lists.update_list import update_list
from starling.web.deps import Ctx, auth
from starling.web.mastodon.present import accounts_json, path_id, statuses_json
from starling.web.pagination import read_page, set_link_header
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()

MEMBERS_DEFAULT = 40
MEMBERS_MAX = 80


def to_mastodon_list(the_list: List) -> dict[str, Any]:
    return {
        "id": str(the_list.id),
        "title": the_list.title,
        "replies_policy": the_list.replies_policy,
        "exclusive": the_list.exclusive,
    }


def _fields(params: Params) -> dict[str, Any]:
    return {
        "title": params.get_str("title"),
        "replies_policy": params.get_str("replies_policy"),
        "exclusive": params.get_bool("exclusive"),
    }


@router.get("/api/v1/lists")
async def index(ctx: Ctx = Depends(auth("read:lists"))) -> Response:
    return json_response([to_mastodon_list(x) for x in await list_lists(ctx.session, ctx.account)])


@router.post("/api/v1/lists")
async def create(request: Request, ctx: Ctx = Depends(auth("write:lists"))) -> Response:
    params = await read_params(request)
    created = await create_list(ctx.session, ctx.account, **_fields(params))
    await ctx.commit()
    return json_response(to_mastodon_list(created))


@router.get("/api/v1/lists/{list_id}")
async def show(list_id: str, ctx: Ctx = Depends(auth("read:lists"))) -> Response:
    return json_response(to_mastodon_list(await show_list(ctx.session, ctx.account, path_id(list_id))))


@router.put("/api/v1/lists/{list_id}")
async def update(list_id: str, request: Request, ctx: Ctx = Depends(auth("write:lists"))) -> Response:
    params = await read_params(request)
    updated = await update_list(ctx.session, ctx.account, path_id(list_id), **_fields(params))
    await ctx.commit()
    return json_response(to_mastodon_list(updated))


@router.delete("/api/v1/lists/{list_id}")
async def destroy(list_id: str, ctx: Ctx = Depends(auth("write:lists"))) -> Response:
    await delete_list(ctx.session, ctx.account, path_id(list_id))
    await ctx.commit()
    return json_response({})


@router.get("/api/v1/lists/{list_id}/accounts")
async def members(list_id: str, request: Request, ctx: Ctx = Depends(auth("read:lists"))) -> Response:
    # limit=0 asks for every member at once, without paging (as Mastodon).
    unlimited = request.query_params.get("limit") == "0"
    page = None if unlimited else read_page(request, default=MEMBERS_DEFAULT, maximum=MEMBERS_MAX)
    rows = await list_members(ctx.session, ctx.account, path_id(list_id), page)
    response = json_response(accounts_json(ctx, [account for _, account in rows]))
    if not unlimited:
        set_link_header(response, request, [cursor for cursor, _ in rows])
    return response


@router.post("/api/v1/lists/{list_id}/accounts")
async def add_members(list_id: str, request: Request, ctx: Ctx = Depends(auth("write:lists"))) -> Response:
    params = await read_params(request)
    await add_list_accounts(ctx.session, ctx.account, path_id(list_id), params.get_id_list("account_ids"))
    await ctx.commit()
    return json_response({})


@router.delete("/api/v1/lists/{list_id}/accounts")
async def remove_members(list_id: str, request: Request, ctx: Ctx = Depends(auth("write:lists"))) -> Response:
    params = await read_params(request)
    await remove_list_accounts(ctx.session, ctx.account, path_id(list_id), params.get_id_list("account_ids"))
    await ctx.commit()
    return json_response({})


@router.get("/api/v1/accounts/{account_id}/lists")
async def lists_of_account(account_id: str, ctx: Ctx = Depends(auth("read:lists"))) -> Response:
    found = await lists_with_account(ctx.session, ctx.account, path_id(account_id))
    return json_response([to_mastodon_list(x) for x in found])


@router.get("/api/v1/timelines/list/{list_id}")
async def timeline(list_id: str, request: Request, ctx: Ctx = Depends(auth("read:lists"))) -> Response:
    statuses = await list_timeline(ctx.session, ctx.account, path_id(list_id), read_page(request))
    response = json_response(await statuses_json(ctx, statuses))
    set_link_header(response, request, [s.id for s in statuses])
    return response
