"""Mastodon API: hashtags (show, follow, unfollow, feature), followed hashtags and featured hashtags."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.services.tags.feature_tag import feature_tag, feature_tag_by_name, unfeature_tag, unfeature_tag_by_name
from starling.services.tags.featured import FeaturedTagView
from starling.services.tags.follow_tag import follow_tag, unfollow_tag
from starling.services.tags.list_featured_tags import (
    account_featured_tags,
    list_featured_tags,
    suggest_featured_tags,
)
from starling.services.tags.list_followed_tags import list_followed_tags
from starling.services.tags.show_tag import show_tag
from starling.services.tags.views import TagView
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon import urls
from starling.web.mastodon.present import base_url, path_id
from starling.web.mastodon.render import iso_date
from starling.web.pagination import read_page, set_link_header
from starling.web.params import read_params
from starling.web.responses import json_response

router = APIRouter()

FOLLOWED_DEFAULT = 100
FOLLOWED_MAX = 200
# Following a tag takes the same scopes as following an account (the old "follow" scope included).
WRITE_FOLLOWS = ("write:follows", "follow")


def to_mastodon_tag_entity(base: str, view: TagView) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(view.id) if view.id is not None else "",
        "name": view.name,
        "url": f"{base}/tags/{quote(view.name_lower)}",
        "history": [
            {"day": str(int(day.day.timestamp())), "uses": str(day.uses), "accounts": str(day.accounts)}
            for day in view.history
        ],
    }
    if view.following is not None:
        data["following"] = view.following
    if view.featuring is not None:
        data["featuring"] = view.featuring
    return data


def to_mastodon_featured_tag(base: str, view: FeaturedTagView) -> dict[str, Any]:
    return {
        "id": str(view.id),
        "name": view.name,
        "url": f"{urls.account_url(base, view.account)}/tagged/{quote(view.name_lower)}",
        "statuses_count": str(view.statuses_count),
        "last_status_at": iso_date(view.last_status_at),
    }


def _tag(ctx: Ctx, view: TagView) -> Response:
    return json_response(to_mastodon_tag_entity(base_url(ctx), view))


# --- a hashtag ----------------------------------------------------------------------------------


@router.get("/api/v1/tags/{name}")
async def show(name: str, ctx: Ctx = Depends(public())) -> Response:
    return _tag(ctx, await show_tag(ctx.session, ctx.account_or_none, name))


@router.post("/api/v1/tags/{name}/follow")
async def follow(name: str, ctx: Ctx = Depends(auth(WRITE_FOLLOWS))) -> Response:
    view = await follow_tag(ctx.session, ctx.account, name)
    await ctx.commit()
    return _tag(ctx, view)


@router.post("/api/v1/tags/{name}/unfollow")
async def unfollow(name: str, ctx: Ctx = Depends(auth(WRITE_FOLLOWS))) -> Response:
    view = await unfollow_tag(ctx.session, ctx.account, name)
    await ctx.commit()
    return _tag(ctx, view)


@router.post("/api/v1/tags/{name}/feature")
async def feature(name: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    view = await feature_tag_by_name(ctx.session, ctx.account, name)
    await ctx.commit()
    return _tag(ctx, view)


@router.post("/api/v1/tags/{name}/unfeature")
async def unfeature(name: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    view = await unfeature_tag_by_name(ctx.session, ctx.account, name)
    await ctx.commit()
    return _tag(ctx, view)


# --- followed hashtags --------------------------------------------------------------------------


@router.get("/api/v1/followed_tags")
async def followed(request: Request, ctx: Ctx = Depends(auth("read:follows"))) -> Response:
    page = read_page(request, default=FOLLOWED_DEFAULT, maximum=FOLLOWED_MAX)
    rows = await list_followed_tags(ctx.session, ctx.account, page)
    base = base_url(ctx)
    response = json_response([to_mastodon_tag_entity(base, view) for _, view in rows])
    set_link_header(response, request, [cursor for cursor, _ in rows])
    return response


# --- featured hashtags --------------------------------------------------------------------------


@router.get("/api/v1/featured_tags")
async def featured(ctx: Ctx = Depends(auth("read:accounts"))) -> Response:
    views = await list_featured_tags(ctx.session, ctx.account)
    base = base_url(ctx)
    return json_response([to_mastodon_featured_tag(base, v) for v in views])


@router.post("/api/v1/featured_tags")
async def create_featured(request: Request, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    params = await read_params(request)
    view = await feature_tag(ctx.session, ctx.account, params.get_str("name"))
    await ctx.commit()
    return json_response(to_mastodon_featured_tag(base_url(ctx), view))


@router.get("/api/v1/featured_tags/suggestions")
async def suggestions(ctx: Ctx = Depends(auth("read:accounts"))) -> Response:
    views = await suggest_featured_tags(ctx.session, ctx.account)
    base = base_url(ctx)
    return json_response([to_mastodon_tag_entity(base, v) for v in views])


@router.delete("/api/v1/featured_tags/{featured_id}")
async def destroy_featured(featured_id: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    await unfeature_tag(ctx.session, ctx.account, path_id(featured_id))
    await ctx.commit()
    return json_response({})


@router.get("/api/v1/accounts/{account_id}/featured_tags")
async def featured_of_account(account_id: str, ctx: Ctx = Depends(public("read:accounts"))) -> Response:
    base = base_url(ctx)
    views = await account_featured_tags(ctx.session, path_id(account_id))
    return json_response([to_mastodon_featured_tag(base, v) for v in views])
