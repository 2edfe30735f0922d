"""Notifications and follow requests."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.repositories.notifications import NotificationFilter
from starling.services.follows.authorize_follow_request import authorize_follow_request
from starling.services.follows.list_follows import list_follow_requests
from starling.services.follows.reject_follow_request import reject_follow_request
from starling.services.notifications.list_notifications import list_notifications
from starling.web.html.common import back, guarded, paging, posted_form, render_app, sign_in_redirect
from starling.web.html.session import Page, page_context
from starling.web.html.timeline_pages import older_link, views_of
from starling.web.html.views import AccountView, StatusView, account_view, iso, when

router = APIRouter()

VERBS = {
    "mention": "mentioned you",
    "status": "posted",
    "reblog": "reposted your post",
    "favourite": "liked your post",
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "update": "edited a post",
}


@dataclass(frozen=True)
class NotificationView:
    id: int
    type: str
    verb: str
    account: AccountView
    status: StatusView | None
    when: str
    iso: str


@router.get("/notifications", include_in_schema=False)
@guarded
async def notifications(request: Request, page: Page = Depends(page_context)) -> Response:
    if page.account is None:
        return sign_in_redirect(page)
    limit = paging(request).limit
    rows = await list_notifications(page.session, page.account, paging(request), NotificationFilter())
    views = {v.id: v for v in await views_of(page, [r.status for r in rows if r.status is not None])}
    base = page.settings.base_url
    items = [
        NotificationView(
            id=r.notification.id, type=r.notification.type, verb=VERBS.get(r.notification.type, r.notification.type),
            account=account_view(r.account, base), status=views.get(r.status.id) if r.status else None,
            when=when(r.notification.created_at), iso=iso(r.notification.created_at),
        )
        for r in rows
    ]
    return await render_app(
        page, "notifications.html", title="Notifications", items=items,
        older=older_link(request, [r.notification.id for r in rows], limit),
    )


@router.get("/follow_requests", include_in_schema=False)
@guarded
async def follow_requests(request: Request, page: Page = Depends(page_context)) -> Response:
    if page.account is None:
        return sign_in_redirect(page)
    limit = paging(request, 40).limit
    rows = await list_follow_requests(page.session, page.account, paging(request, 40))
    base = page.settings.base_url
    return await render_app(
        page, "follow_requests.html", title="Follow requests", requesters=[account_view(r.account, base) for r in rows],
        older=older_link(request, [r.cursor for r in rows], limit),
    )


@router.post("/follow_requests/{account_id}", include_in_schema=False)
@guarded
async def answer_follow_request(account_id: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    assert page.account is not None
    requester = parse_id(account_id)
    if requester is None:
        raise NotFound()
    if form.get("do") == "authorize":
        await authorize_follow_request(page.session, page.account, requester)
    else:
        await reject_follow_request(page.session, page.account, requester)
    await page.commit()
    return back(page, form, "/follow_requests")
