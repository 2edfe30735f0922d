"""Mastodon API: notifications and read markers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import Unprocessable
from starling.domain.ids import parse_id
from starling.repositories.notifications import MarkerRow, NotificationFilter, NotificationRow
from starling.services.notifications.clear_notifications import clear_notifications
from starling.services.notifications.dismiss_notification import dismiss_notification
from starling.services.notifications.list_notifications import get_notification, list_notifications
from starling.services.notifications.markers import TIMELINES, read_markers, save_markers
from starling.services.notifications.unread_count import DEFAULT_LIMIT, MAX_LIMIT, unread_count
from starling.web.deps import Ctx, auth
from starling.web.mastodon.present import account_json, path_id, statuses_json
from starling.web.mastodon.render import iso
from starling.web.pagination import read_page, set_link_header
from starling.web.params import Params, read_params
from starling.web.responses import json_response

router = APIRouter()

# Types whose entity carries the status they are about.
STATUS_TYPES = frozenset({"mention", "status", "reblog", "favourite", "poll", "update"})


def _account_filter(params: Params) -> int | None:
    """An ``account_id`` that is no id names no account: the filter then matches nothing (as Mastodon)."""
    raw = params.raw("account_id")
    if raw is None or raw == "":
        return None
    return parse_id(raw) or 0


def _filters(params: Params) -> NotificationFilter:
    return NotificationFilter(
        types=params.get_str_list("types"),
        exclude_types=params.get_str_list("exclude_types"),
        from_account_id=_account_filter(params),
    )


async def _notifications_json(ctx: Ctx, rows: list[NotificationRow]) -> list[dict[str, Any]]:
    with_status = [r for r in rows if r.status is not None and r.notification.type in STATUS_TYPES]
    rendered = await statuses_json(ctx, [r.status for r in with_status if r.status is not None])
    status_of = {r.notification.id: data for r, data in zip(with_status, rendered, strict=True)}
    out = []
    for r in rows:
        n = r.notification
        data: dict[str, Any] = {
            "id": str(n.id),
            "type": n.type,
            "created_at": iso(n.created_at),
            "group_key": f"ungrouped-{n.id}",
            "account": account_json(ctx, r.account),
        }
        if n.type in STATUS_TYPES:
            data["status"] = status_of.get(n.id)
        out.append(data)
    return out


@router.get("/api/v1/notifications")
async def index(request: Request, ctx: Ctx = Depends(auth("read:notifications"))) -> Response:
    params = await read_params(request)
    page = read_page(request, default=40, maximum=80)
    rows = await list_notifications(ctx.session, ctx.account, page, _filters(params))
    response = json_response(await _notifications_json(ctx, rows))
    set_link_header(response, request, [r.notification.id for r in rows])
    return response


@router.get("/api/v1/notifications/unread_count")
async def count_unread(request: Request, ctx: Ctx = Depends(auth("read:notifications"))) -> Response:
    params = await read_params(request)
    limit = params.get_int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True)
    count = await unread_count(ctx.session, ctx.account, _filters(params), limit or DEFAULT_LIMIT)
    return json_response({"count": count})


@router.post("/api/v1/notifications/clear")
async def clear(ctx: Ctx = Depends(auth("write:notifications"))) -> Response:
    await clear_notifications(ctx.session, ctx.account)
    await ctx.commit()
    return json_response({})


@router.get("/api/v1/notifications/{notification_id}")
async def show(notification_id: str, ctx: Ctx = Depends(auth("read:notifications"))) -> Response:
    row = await get_notification(ctx.session, ctx.account, path_id(notification_id))
    return json_response((await _notifications_json(ctx, [row]))[0])


@router.post("/api/v1/notifications/{notification_id}/dismiss")
async def dismiss(notification_id: str, ctx: Ctx = Depends(auth("write:notifications"))) -> Response:
    await dismiss_notification(ctx.session, ctx.account, path_id(notification_id))
    await ctx.commit()
    return json_response({})


def _markers_json(markers: list[MarkerRow]) -> dict[str, Any]:
    return {
        m.timeline: {"last_read_id": str(m.last_read_id), "version": m.version, "updated_at": iso(m.updated_at)}
        for m in markers
    }


@router.get("/api/v1/markers")
async def get_markers(request: Request, ctx: Ctx = Depends(auth("read:statuses"))) -> Response:
    params = await read_params(request)
    return json_response(_markers_json(await read_markers(ctx.session, ctx.account, params.get_str_list("timeline"))))


@router.post("/api/v1/markers")
async def post_markers(request: Request, ctx: Ctx = Depends(auth("write:statuses"))) -> Response:
    params = await read_params(request)
    positions: dict[str, int] = {}
    for timeline in TIMELINES:
        if timeline not in params:
            continue
        last_read_id = params.get_sub(timeline).get_id("last_read_id")
        if last_read_id is None:
            raise Unprocessable(f"Validation failed: {timeline}[last_read_id] can't be blank")
        positions[timeline] = last_read_id
    markers = await save_markers(ctx.session, ctx.account, positions)
    await ctx.commit()
    return json_response(_markers_json(markers))
