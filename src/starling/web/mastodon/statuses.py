"""Mastodon API: statuses, and what accounts do with them (favourites, reblogs, bookmarks, pins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.domain.paging import Page
from starling.services.statuses.bookmark_status import bookmark_status, unbookmark_status
from starling.services.statuses.compose import StatusRules
from starling.services.statuses.delete_status import delete_status
from starling.services.statuses.edit_status import StatusChanges, edit_status
from starling.services.statuses.favourite_status import favourite_status, unfavourite_status
from starling.services.statuses.get_status import get_status, get_statuses
from starling.services.statuses.list_bookmarks import list_bookmarks
from starling.services.statuses.list_favourites import list_favourites
from starling.services.statuses.list_interactions import favourited_by, reblogged_by
from starling.services.statuses.mute_conversation import mute_conversation, unmute_conversation
from starling.services.statuses.pin_status import pin_status, unpin_status
from starling.services.statuses.post_status import NewStatus, post_status
from starling.services.statuses.reblog_status import reblog_status, unreblog_status
from starling.services.statuses.status_context import status_context
from starling.services.statuses.status_history import Version, status_history
from starling.services.statuses.status_source import status_source
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon.present import accounts_json, base_url, path_id, posted_json, status_json, statuses_json
from starling.web.mastodon.render import iso, to_mastodon_account, to_mastodon_media, to_mastodon_status
from starling.web.pagination import read_page, set_link_header
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()


def _rules(ctx: Ctx) -> StatusRules:
    return StatusRules.from_settings(ctx.container.settings)


def _application_id(ctx: Ctx) -> int | None:
    app = ctx.viewer.application if ctx.viewer else None
    return app.id if app else None


def _reply_id(params: Params) -> int | None:
    """A reply target that is not even an id cannot exist: 404, as for an unknown one."""
    raw = params.raw("in_reply_to_id")
    if raw is None or raw == "":
        return None
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFound()
    return parsed


def _account_page(request: Request) -> Page:
    return read_page(request, default=40, maximum=80)


def _edit_json(version: Version, base: str) -> dict[str, Any]:
    return {
        "content": version.content,
        "spoiler_text": version.spoiler_text,
        "sensitive": version.sensitive,
        "created_at": iso(version.created_at),
        "account": to_mastodon_account(version.account, base),
        "poll": None,
        "media_attachments": [to_mastodon_media(m, base) for m in version.media],
        "emojis": [],
    }


@router.post("/api/v1/statuses")
async def create(request: Request, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    params = await read_params(request)
    data = NewStatus(
        text=params.get_str("status"),
        media_ids=params.get_id_list("media_ids"),
        spoiler_text=params.get_str("spoiler_text"),
        sensitive=params.get_bool("sensitive"),
        visibility=params.get_str("visibility"),
        language=params.get_str("language"),
        in_reply_to_id=_reply_id(params),
        idempotency_key=request.headers.get("idempotency-key") or None,
        application_id=_application_id(ctx),
        scheduled_at=params.get_str("scheduled_at"),
        has_poll="poll" in params,
    )
    posted = await post_status(ctx.session, ctx.account, ctx.user, data, _rules(ctx))
    await ctx.commit()
    return json_response(await posted_json(ctx, posted))


@router.get("/api/v1/statuses")
async def show_many(request: Request, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    params = await read_params(request)
    ids = [i for i in (parse_id(v) for v in params.get_str_list("id")) if i is not None]
    viewer = ctx.account_or_none
    statuses = await get_statuses(ctx.session, ids, viewer.id if viewer else None)
    return json_response(await statuses_json(ctx, statuses))


@router.get("/api/v1/statuses/{status_id}")
async def show(status_id: str, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    viewer = ctx.account_or_none
    status = await get_status(ctx.session, path_id(status_id), viewer.id if viewer else None)
    return json_response(await status_json(ctx, status))


@router.put("/api/v1/statuses/{status_id}")
async def update(status_id: str, request: Request, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    params = await read_params(request)
    changes = StatusChanges(
        text=params.get_str("status"),
        spoiler_text=params.get_str("spoiler_text"),
        sensitive=params.get_bool("sensitive"),
        language=params.get_str("language"),
        media_ids=params.get_id_list("media_ids"),
        has_poll="poll" in params,
    )
    status = await edit_status(ctx.session, ctx.account, path_id(status_id), changes, _rules(ctx))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.delete("/api/v1/statuses/{status_id}")
async def destroy(status_id: str, request: Request, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    params = await read_params(request)
    deleted = await delete_status(
        ctx.session, ctx.account, path_id(status_id), delete_media=bool(params.get_bool("delete_media", False))
    )
    await ctx.commit()
    data = to_mastodon_status(deleted.status, deleted.bundle, base_url(ctx))
    data["text"] = deleted.status.text
    return json_response(data)


@router.get("/api/v1/statuses/{status_id}/context")
async def context(status_id: str, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    viewer = ctx.account_or_none
    found = await status_context(ctx.session, path_id(status_id), viewer.id if viewer else None)
    rendered = await statuses_json(ctx, found.ancestors + found.descendants)
    n = len(found.ancestors)
    return json_response({"ancestors": rendered[:n], "descendants": rendered[n:]})


@router.get("/api/v1/statuses/{status_id}/history")
async def history(status_id: str, ctx: Ctx = Depends(public("read:statuses"))) -> Response:
    viewer = ctx.account_or_none
    versions = await status_history(ctx.session, path_id(status_id), viewer.id if viewer else None)
    base = base_url(ctx)
    return json_response([_edit_json(v, base) for v in versions])


@router.get("/api/v1/statuses/{status_id}/source")
async def source(status_id: str, ctx: Ctx = Depends(auth("read:statuses"))) -> Response:
    status = await status_source(ctx.session, path_id(status_id), ctx.account.id)
    return json_response({"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text})


@router.post("/api/v1/statuses/{status_id}/favourite")
async def favourite(status_id: str, ctx: Ctx = Depends(auth("write:favourites"))) -> Response:
    status = await favourite_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/unfavourite")
async def unfavourite(status_id: str, ctx: Ctx = Depends(auth("write:favourites"))) -> Response:
    status = await unfavourite_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/reblog")
async def reblog(status_id: str, request: Request, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    params = await read_params(request)
    status = await reblog_status(
        ctx.session, ctx.account, path_id(status_id), params.get_str("visibility"), _application_id(ctx)
    )
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/unreblog")
async def unreblog(status_id: str, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    status = await unreblog_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/bookmark")
async def bookmark(status_id: str, ctx: Ctx = Depends(auth("write:bookmarks"))) -> Response:
    status = await bookmark_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/unbookmark")
async def unbookmark(status_id: str, ctx: Ctx = Depends(auth("write:bookmarks"))) -> Response:
    status = await unbookmark_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/pin")
async def pin(status_id: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    status = await pin_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/unpin")
async def unpin(status_id: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    status = await unpin_status(ctx.session, ctx.account, path_id(status_id))
    await ctx.commit()
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/mute")
async def mute(status_id: str, ctx: Ctx = Depends(auth("write:mutes"))) -> Response:
    status = await mute_conversation(ctx.session, ctx.account, path_id(status_id))
    return json_response(await status_json(ctx, status))


@router.post("/api/v1/statuses/{status_id}/unmute")
async def unmute(status_id: str, ctx: Ctx = Depends(auth("write:mutes"))) -> Response:
    status = await unmute_conversation(ctx.session, ctx.account, path_id(status_id))
    return json_response(await status_json(ctx, status))


@router.get("/api/v1/statuses/{status_id}/favourited_by")
async def favourited_by_list(
    status_id: str, request: Request, ctx: Ctx = Depends(public("read:accounts"))
) -> Response:
    viewer = ctx.account_or_none
    rows = await favourited_by(ctx.session, path_id(status_id), viewer.id if viewer else None, _account_page(request))
    response = json_response(accounts_json(ctx, [a for a, _ in rows]))
    set_link_header(response, request, [cursor for _, cursor in rows])
    return response


@router.get("/api/v1/statuses/{status_id}/reblogged_by")
async def reblogged_by_list(
    status_id: str, request: Request, ctx: Ctx = Depends(public("read:accounts"))
) -> Response:
    viewer = ctx.account_or_none
    rows = await reblogged_by(ctx.session, path_id(status_id), viewer.id if viewer else None, _account_page(request))
    response = json_response(accounts_json(ctx, [a for a, _ in rows]))
    set_link_header(response, request, [cursor for _, cursor in rows])
    return response


@router.get("/api/v1/favourites")
async def favourites(request: Request, ctx: Ctx = Depends(auth("read:favourites"))) -> Response:
    rows = await list_favourites(ctx.session, ctx.account, read_page(request))
    response = json_response(await statuses_json(ctx, [s for s, _ in rows]))
    set_link_header(response, request, [cursor for _, cursor in rows])
    return response


@router.get("/api/v1/bookmarks")
async def bookmarks(request: Request, ctx: Ctx = Depends(auth("read:bookmarks"))) -> Response:
    rows = await list_bookmarks(ctx.session, ctx.account, read_page(request))
    response = json_response(await statuses_json(ctx, [s for s, _ in rows]))
    set_link_header(response, request, [cursor for _, cursor in rows])
    return response
