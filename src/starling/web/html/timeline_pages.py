"""Timelines in the browser: home (with the compose form), local and federated, a hashtag, bookmarks."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.models import Status
from starling.services.statuses.get_status import get_status
from starling.services.statuses.list_bookmarks import list_bookmarks
from starling.services.tags.follow_tag import follow_tag, unfollow_tag
from starling.services.tags.show_tag import show_tag
from starling.services.timelines.home_timeline import home_timeline
from starling.services.timelines.public_timeline import PublicFilter, public_timeline
from starling.services.timelines.tag_timeline import tag_timeline
from starling.web.html.common import back, guarded, paging, posted_form, render_app, sign_in_redirect, stream_url
from starling.web.html.session import Page, page_context
from starling.web.html.templating import redirect
from starling.web.html.views import StatusView, status_views

router = APIRouter()


def older_link(request: Request, cursors: list[int], limit: int) -> str | None:
    """The next page's address, when this one was full."""
    if len(cursors) < limit or not cursors:
        return None
    params = {k: v for k, v in request.query_params.items() if k not in ("max_id", "posted")}
    params["max_id"] = str(min(cursors))
    return request.url.path + "?" + urlencode(params)


async def views_of(page: Page, statuses: list[Status]) -> list[StatusView]:
    viewer = page.account.id if page.account else None
    return await status_views(page.session, statuses, viewer, page.settings.base_url)


async def status_or_none(page: Page, status_id: int) -> Status | None:
    try:
        return await get_status(page.session, status_id, page.account.id if page.account else None)
    except NotFound:
        return None


@router.get("/", include_in_schema=False)
@guarded
async def home(request: Request, page: Page = Depends(page_context)) -> Response:
    if page.account is None or page.user is None:
        return redirect(page, "/public/local")
    limit = paging(request).limit
    statuses = await home_timeline(page.session, page.account, paging(request))
    posted = parse_id(request.query_params.get("posted", ""))
    if posted is not None and paging(request).max_id is None and all(s.id != posted for s in statuses):
        own = await status_or_none(page, posted)
        if own is not None and own.account_id == page.account.id:
            statuses.insert(0, own)
    return await render_app(
        page, "timeline.html", title="Home", heading="Home", statuses=await views_of(page, statuses),
        older=older_link(request, [s.id for s in statuses], limit), show_compose=True,
        visibility=page.user.default_privacy, key=secrets.token_urlsafe(12), stream=stream_url(page, "user"), tag=None,
        empty="Nothing here yet. Follow people (find them in the local timeline or with search) to see their posts.",
    )


async def _public(request: Request, page: Page, *, local: bool) -> Response:
    limit = paging(request).limit
    statuses = await public_timeline(page.session, page.account, paging(request), PublicFilter(local=local))
    title = "Local timeline" if local else "Federated timeline"
    blurb = (
        f"Public posts from people on {page.settings.server_name}." if local
        else "Public posts from this server and the servers it knows."
    )
    return await render_app(
        page, "timeline.html", title=title, heading=title, blurb=blurb, statuses=await views_of(page, statuses),
        older=older_link(request, [s.id for s in statuses], limit), show_compose=False,
        stream=stream_url(page, "public/local" if local else "public"), tag=None, empty="No public posts yet.",
    )


@router.get("/public/local", include_in_schema=False)
@guarded
async def local_timeline(request: Request, page: Page = Depends(page_context)) -> Response:
    return await _public(request, page, local=True)


@router.get("/public", include_in_schema=False)
@guarded
async def federated_timeline(request: Request, page: Page = Depends(page_context)) -> Response:
    return await _public(request, page, local=False)


@router.get("/tags/{name}", include_in_schema=False)
@guarded
async def hashtag(name: str, request: Request, page: Page = Depends(page_context)) -> Response:
    tag = await show_tag(page.session, page.account, name)
    limit = paging(request).limit
    statuses = await tag_timeline(page.session, page.account, paging(request), name, PublicFilter())
    base = page.settings.base_url
    title = f"#{tag.name}"
    description = f"Public posts tagged #{tag.name} on {page.settings.server_name}."
    return await render_app(
        page, "timeline.html", title=title, heading=title, blurb=description, statuses=await views_of(page, statuses),
        older=older_link(request, [s.id for s in statuses], limit), show_compose=False,
        stream=stream_url(page, f"hashtag?tag={tag.name_lower}"), empty=f"No public posts tagged #{tag.name} yet.",
        tag=tag, description=description,
        og={"type": "website", "title": title, "url": f"{base}/tags/{tag.name_lower}", "description": description,
            "image": None, "published": None},
        alternates=[{"type": "application/rss+xml", "href": f"{base}/tags/{tag.name_lower}.rss",
                     "title": f"{title} (RSS)"}],
    )


@router.post("/tags/{name}/follow", include_in_schema=False)
@guarded
async def follow_hashtag(name: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    assert page.account is not None
    if form.get("do") == "unfollow":
        await unfollow_tag(page.session, page.account, name)
    else:
        await follow_tag(page.session, page.account, name)
    await page.commit()
    return back(page, form, f"/tags/{name}")


@router.get("/bookmarks", include_in_schema=False)
@guarded
async def bookmarks(request: Request, page: Page = Depends(page_context)) -> Response:
    if page.account is None:
        return sign_in_redirect(page)
    limit = paging(request).limit
    rows = await list_bookmarks(page.session, page.account, paging(request))
    return await render_app(
        page, "timeline.html", title="Bookmarks", heading="Bookmarks", blurb="Posts you saved. Only you see this list.",
        statuses=await views_of(page, [s for s, _ in rows]), older=older_link(request, [c for _, c in rows], limit),
        show_compose=False, stream=None, tag=None, empty="No bookmarks yet. Save a post to find it here.",
    )
