"""Mastodon API: timelines (home, public, hashtag) and an account's statuses."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.models import Status
from starling.services.timelines.account_statuses import AccountStatusesFilter, account_statuses
from starling.services.timelines.home_timeline import home_timeline
from starling.services.timelines.public_timeline import PublicFilter, public_timeline
from starling.services.timelines.tag_timeline import tag_timeline
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon.present import path_id, statuses_json
from starling.web.pagination import read_page, set_link_header
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()


def _public_filter(params: Params) -> PublicFilter:
    return PublicFilter(
        local=bool(params.get_bool("local", False)),
        remote=bool(params.get_bool("remote", False)),
        only_media=bool(params.get_bool("only_media", False)),
    )


async def _page_response(ctx: Ctx, statuses: list[Status], cursor_ids: list[int] | None = None) -> Response:
    response = json_response(await statuses_json(ctx, statuses))
    set_link_header(response, ctx.request, cursor_ids if cursor_ids is not None else [s.id for s in statuses])
    return response


@router.get("/api/v1/timelines/home")
async def home(request: Request, ctx: Ctx = Depends(auth("read:statuses"))) -> Response:
    statuses = await home_timeline(ctx.session, ctx.account, read_page(request))
    return await _page_response(ctx, statuses)


@router.get("/api/v1/timelines/public")
async def public_statuses(request: Request, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    params = await read_params(request)
    statuses = await public_timeline(ctx.session, ctx.account_or_none, read_page(request), _public_filter(params))
    return await _page_response(ctx, statuses)


@router.get("/api/v1/timelines/tag/{hashtag}")
async def hashtag_statuses(hashtag: str, request: Request, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    params = await read_params(request)
    statuses = await tag_timeline(
        ctx.session, ctx.account_or_none, read_page(request), hashtag, _public_filter(params),
        any_of=params.get_str_list("any"), all_of=params.get_str_list("all"), none_of=params.get_str_list("none"),
    )
    return await _page_response(ctx, statuses)


@router.get("/api/v1/accounts/{account_id}/statuses")
async def statuses_of_account(
    account_id: str, request: Request, ctx: Ctx = Depends(public("read:statuses"))
) -> Response:
    params = await read_params(request)
    filters = AccountStatusesFilter(
        exclude_replies=bool(params.get_bool("exclude_replies", False)),
        exclude_reblogs=bool(params.get_bool("exclude_reblogs", False)),
        only_media=bool(params.get_bool("only_media", False)),
        pinned=bool(params.get_bool("pinned", False)),
        tagged=params.get_str("tagged"),
    )
    page = await account_statuses(ctx.session, ctx.account_or_none, path_id(account_id), read_page(request), filters)
    return await _page_response(ctx, page.statuses, page.cursor_ids)
