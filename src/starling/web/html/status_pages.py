"""A status with its thread, writing (posting, replying), and what one does to a status (like, repost,
save, delete) — each through the same service the Mastodon API handler calls."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.services.statuses.bookmark_status import bookmark_status, unbookmark_status
from starling.services.statuses.compose import StatusRules
from starling.services.statuses.delete_status import delete_status
from starling.services.statuses.favourite_status import favourite_status, unfavourite_status
from starling.services.statuses.get_status import get_status
from starling.services.statuses.post_status import NewStatus, post_status
from starling.services.statuses.reblog_status import reblog_status, unreblog_status
from starling.services.statuses.status_context import status_context
from starling.web.html.common import back, guarded, posted_form, render_app, sign_in_redirect, wants_json
from starling.web.html.media_forms import MAX_PHOTOS, discard, upload_from_form
from starling.web.html.session import Page, page_context
from starling.web.html.templating import redirect
from starling.web.html.views import StatusView, absolute, plain_text, status_views

router = APIRouter()


def _id(raw: str) -> int:
    parsed = parse_id(raw)
    if parsed is None:
        raise NotFound()
    return parsed


def _mentions(view: StatusView, me_acct: str | None) -> str:
    """A reply starts by naming the author (unless replying to oneself)."""
    if me_acct is not None and view.author.acct == me_acct:
        return ""
    return f"@{view.author.acct} "


@router.get("/@{acct}/{status_id}", include_in_schema=False)
@guarded
async def show_status(acct: str, status_id: str, page: Page = Depends(page_context)) -> Response:
    viewer = page.account.id if page.account else None
    sid = _id(status_id)
    status = await get_status(page.session, sid, viewer)
    if status.reblog_of_id is not None:
        status = await get_status(page.session, status.reblog_of_id, viewer)
    thread = await status_context(page.session, status.id, viewer)
    base = page.settings.base_url
    views = await status_views(page.session, [*thread.ancestors, status, *thread.descendants], viewer, base)
    n = len(thread.ancestors)
    focus = views[n]
    if acct != focus.author.acct or sid != focus.id:
        return redirect(page, focus.path, status_code=301)
    summary = plain_text(focus.content) or (focus.media[0].description if focus.media else "")
    title = f"{focus.author.name}: “{plain_text(focus.spoiler_text or focus.content, 60)}”"
    og = {
        "type": "article", "title": f"{focus.author.name} (@{focus.author.acct})", "url": f"{base}{focus.path}",
        "description": focus.spoiler_text or summary,
        "image": absolute(focus.media[0].preview if focus.media else focus.author.avatar, base), "published": focus.iso,
    }
    return await render_app(
        page, "status.html", title=title, focus=focus, ancestors=views[:n], descendants=views[n + 1:],
        description=og["description"], og=og,
        alternates=[{"type": "application/json", "href": f"{base}/api/v1/statuses/{focus.id}", "title": None}],
        mention=_mentions(focus, page.account.acct if page.account else None),
        visibility=focus.visibility if focus.visibility != "public" else "unlisted" if focus.mine else "public",
        key=secrets.token_urlsafe(12), cw=focus.spoiler_text,
    )


@router.get("/statuses/{status_id}/card", include_in_schema=False)
@guarded
async def status_card(status_id: str, page: Page = Depends(page_context)) -> Response:
    """One post as it appears in a timeline, for the page's script to insert a new post."""
    viewer = page.account.id if page.account else None
    status = await get_status(page.session, _id(status_id), viewer)
    view = (await status_views(page.session, [status], viewer, page.settings.base_url))[0]
    return await render_app(page, "card.html", title="", s=view, here="/")


@router.get("/compose", include_in_schema=False)
@guarded
async def compose_page(request: Request, page: Page = Depends(page_context)) -> Response:
    if page.account is None or page.user is None:
        return sign_in_redirect(page)
    reply_to = request.query_params.get("in_reply_to")
    if reply_to:
        status = await get_status(page.session, _id(reply_to), page.account.id)
        return redirect(page, (await status_views(page.session, [status], page.account.id,
                                                  page.settings.base_url))[0].path + "#reply")
    return await render_app(page, "compose.html", title="New post", visibility=page.user.default_privacy,
                            key=secrets.token_urlsafe(12))


@router.post("/statuses", include_in_schema=False)
@guarded
async def create_status(page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page, max_files=MAX_PHOTOS)
    if not isinstance(form, dict):
        return form
    assert page.account is not None and page.user is not None
    reply_to = form.get("in_reply_to_id") or ""
    media = await upload_from_form(page, form)
    data = NewStatus(
        text=form.get("status", ""),
        spoiler_text=form.get("spoiler_text"),
        visibility=form.get("visibility") or None,
        in_reply_to_id=_id(reply_to) if reply_to else None,
        idempotency_key=("web:" + form["idempotency_key"]) if form.get("idempotency_key") else None,
        media_ids=[m.id for m in media],
    )
    try:
        status = (await post_status(page.session, page.account, page.user, data,
                                    StatusRules.from_settings(page.settings))).status
        await page.commit()
    except Exception:
        discard(page, media)
        raise
    if data.in_reply_to_id is not None:
        return redirect(page, f"/@{page.account.acct}/{status.id}")
    # Home shows the new post even before the job runner has put it into the home feed.
    return redirect(page, f"/?posted={status.id}#s{status.id}")


async def _act(page: Page, form: dict[str, str], action: str, sid: int) -> Response:
    assert page.account is not None
    account, session = page.account, page.session
    if action == "favourite":
        status = await favourite_status(session, account, sid)
    elif action == "unfavourite":
        status = await unfavourite_status(session, account, sid)
    elif action == "reblog":
        status = await reblog_status(session, account, sid)
        status = await get_status(session, status.reblog_of_id or status.id, account.id)
    elif action == "unreblog":
        status = await unreblog_status(session, account, sid)
    elif action == "bookmark":
        status = await bookmark_status(session, account, sid)
    elif action == "unbookmark":
        status = await unbookmark_status(session, account, sid)
    else:
        raise NotFound()
    await page.commit()
    if wants_json(page.request):
        view = (await status_views(session, [status], account.id, page.settings.base_url))[0]
        return page.finish(JSONResponse({
            "id": str(view.id), "favourited": view.favourited, "favourites_count": view.favourites_count,
            "reblogged": view.reblogged, "reblogs_count": view.reblogs_count, "bookmarked": view.bookmarked,
        }))
    return back(page, form, "/", anchor=f"s{sid}")


@router.post("/statuses/act", include_in_schema=False)
@guarded
async def act_from_feed(page: Page = Depends(page_context)) -> Response:
    """The buttons of a list of posts share one form; each button says ``verb:status_id``."""
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    action, _, raw_id = form.get("do", "").partition(":")
    return await _act(page, form, action, _id(raw_id))


@router.post("/statuses/{status_id}/act", include_in_schema=False)
@guarded
async def act_on_status(status_id: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    return await _act(page, form, form.get("do", ""), _id(status_id))


@router.post("/statuses/{status_id}/delete", include_in_schema=False)
@guarded
async def delete(status_id: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    assert page.account is not None
    await delete_status(page.session, page.account, _id(status_id))
    await page.commit()
    return redirect(page, f"/@{page.account.acct}")
