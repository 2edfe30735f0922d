"""Mastodon API: follows, follow requests, relationships, blocks and mutes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unprocessable
from starling.domain.ids import parse_id
from starling.repositories.graph import Listed, existing_account_ids
from starling.services.blocks.block_account import block_account
from starling.services.blocks.list_blocks import list_blocks
from starling.services.blocks.unblock_account import unblock_account
from starling.services.follows.authorize_follow_request import authorize_follow_request
from starling.services.follows.follow_account import follow_account
from starling.services.follows.list_follows import list_follow_requests, list_followers, list_following
from starling.services.follows.reject_follow_request import reject_follow_request
from starling.services.follows.remove_from_followers import remove_from_followers
from starling.services.follows.unfollow_account import unfollow_account
from starling.services.mutes.list_mutes import list_mutes
from starling.services.mutes.mute_account import mute_account
from starling.services.mutes.unmute_account import unmute_account
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon.present import account_json, path_id
from starling.web.mastodon.relationships import relationship_json, relationships_json
from starling.web.mastodon.render import iso
from starling.web.pagination import read_page, set_link_header
from starling.web.params import read_params
from starling.web.responses import json_response

router = APIRouter()

LIST_DEFAULT = 40
LIST_MAX = 80
MAX_RELATIONSHIP_IDS = 1000
MAX_MUTE_SECONDS = 2**31 - 1


def _accounts_response(ctx: Ctx, request: Request, listed: list[Listed], *, with_expiry: bool = False) -> Response:
    body = []
    for item in listed:
        data = account_json(ctx, item.account)
        if with_expiry:
            data["mute_expires_at"] = iso(item.expires_at)
        body.append(data)
    response = json_response(body)
    set_link_header(response, request, [item.cursor for item in listed])
    return response


# --- relationships -----------------------------------------------------------------------------


@router.get("/api/v1/accounts/relationships")
async def relationships(request: Request, ctx: Ctx = Depends(auth("read:follows"))) -> Response:
    params = await read_params(request)
    raw = params.get_str_list("id")
    if len(raw) > MAX_RELATIONSHIP_IDS:
        raise Unprocessable(f"Validation failed: at most {MAX_RELATIONSHIP_IDS} ids can be asked for at once")
    ids = [i for i in (parse_id(v) for v in raw) if i is not None]
    with_suspended = bool(params.get_bool("with_suspended", False))
    found = await existing_account_ids(ctx.session, ids, with_suspended=with_suspended)
    return json_response(await relationships_json(ctx, [i for i in ids if i in found]))


# --- follows -----------------------------------------------------------------------------------


@router.post("/api/v1/accounts/{account_id}/follow")
async def follow(account_id: str, request: Request, ctx: Ctx = Depends(auth("write:follows"))) -> Response:
    params = await read_params(request)
    params.get_str_list("languages")
    target = await follow_account(
        ctx.session, ctx.account, path_id(account_id),
        reblogs=params.get_bool("reblogs"), notify=params.get_bool("notify"),
    )
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.post("/api/v1/accounts/{account_id}/unfollow")
async def unfollow(account_id: str, ctx: Ctx = Depends(auth("write:follows"))) -> Response:
    target = await unfollow_account(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.post("/api/v1/accounts/{account_id}/remove_from_followers")
async def remove_follower(account_id: str, ctx: Ctx = Depends(auth("write:follows"))) -> Response:
    follower = await remove_from_followers(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, follower.id))


@router.get("/api/v1/accounts/{account_id}/followers")
async def followers(account_id: str, request: Request, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    page = read_page(request, default=LIST_DEFAULT, maximum=LIST_MAX)
    listed = await list_followers(ctx.session, ctx.account_or_none, path_id(account_id), page)
    return _accounts_response(ctx, request, listed)


@router.get("/api/v1/accounts/{account_id}/following")
async def following(account_id: str, request: Request, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    page = read_page(request, default=LIST_DEFAULT, maximum=LIST_MAX)
    listed = await list_following(ctx.session, ctx.account_or_none, path_id(account_id), page)
    return _accounts_response(ctx, request, listed)


# --- follow requests ---------------------------------------------------------------------------


@router.get("/api/v1/follow_requests")
async def follow_requests(request: Request, ctx: Ctx = Depends(auth("read:follows"))) -> Response:
    page = read_page(request, default=LIST_DEFAULT, maximum=LIST_MAX)
    return _accounts_response(ctx, request, await list_follow_requests(ctx.session, ctx.account, page))


@router.post("/api/v1/follow_requests/{account_id}/authorize")
async def authorize(account_id: str, ctx: Ctx = Depends(auth("write:follows"))) -> Response:
    requester = await authorize_follow_request(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, requester.id))


@router.post("/api/v1/follow_requests/{account_id}/reject")
async def reject(account_id: str, ctx: Ctx = Depends(auth("write:follows"))) -> Response:
    requester = await reject_follow_request(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, requester.id))


# --- blocks ------------------------------------------------------------------------------------


@router.post("/api/v1/accounts/{account_id}/block")
async def block(account_id: str, ctx: Ctx = Depends(auth("write:blocks"))) -> Response:
    target = await block_account(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.post("/api/v1/accounts/{account_id}/unblock")
async def unblock(account_id: str, ctx: Ctx = Depends(auth("write:blocks"))) -> Response:
    target = await unblock_account(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.get("/api/v1/blocks")
async def blocks(request: Request, ctx: Ctx = Depends(auth("read:blocks"))) -> Response:
    page = read_page(request, default=LIST_DEFAULT, maximum=LIST_MAX)
    return _accounts_response(ctx, request, await list_blocks(ctx.session, ctx.account, page))


# --- mutes -------------------------------------------------------------------------------------


@router.post("/api/v1/accounts/{account_id}/mute")
async def mute(account_id: str, request: Request, ctx: Ctx = Depends(auth("write:mutes"))) -> Response:
    params = await read_params(request)
    target = await mute_account(
        ctx.session, ctx.account, path_id(account_id),
        notifications=bool(params.get_bool("notifications", True)),
        duration=params.get_int("duration", 0, minimum=0, maximum=MAX_MUTE_SECONDS) or 0,
    )
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.post("/api/v1/accounts/{account_id}/unmute")
async def unmute(account_id: str, ctx: Ctx = Depends(auth("write:mutes"))) -> Response:
    target = await unmute_account(ctx.session, ctx.account, path_id(account_id))
    await ctx.commit()
    return json_response(await relationship_json(ctx, target.id))


@router.get("/api/v1/mutes")
async def mutes(request: Request, ctx: Ctx = Depends(auth("read:mutes"))) -> Response:
    page = read_page(request, default=LIST_DEFAULT, maximum=LIST_MAX)
    return _accounts_response(ctx, request, await list_mutes(ctx.session, ctx.account, page), with_expiry=True)
