"""Profiles: an account's posts (with or without replies), its followers and followings, its RSS feed,
and following or unfollowing it."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends
from markupsafe import escape as html_escape
from starlette.requests import Request
from starlette.responses import Response

from starling.domain.errors import NotFound
from starling.domain.ids import parse_id
from starling.domain.paging import Page as Paging
from starling.models import Account
from starling.repositories.graph import Relationship, load_relationships
from starling.services.accounts.show_accounts import lookup_account
from starling.services.follows.follow_account import follow_account
from starling.services.follows.list_follows import list_followers, list_following
from starling.services.follows.unfollow_account import unfollow_account
from starling.services.tags.show_tag import show_tag
from starling.services.timelines.account_statuses import AccountStatusesFilter, account_statuses
from starling.services.timelines.public_timeline import PublicFilter
from starling.services.timelines.tag_timeline import tag_timeline
from starling.web.html.common import back, guarded, paging, posted_form, render_app
from starling.web.html.session import Page, page_context
from starling.web.html.timeline_pages import older_link, views_of
from starling.web.html.views import AccountView, StatusView, absolute, account_view, status_views

router = APIRouter()

RSS_ITEMS = 20


async def _account(page: Page, acct: str) -> Account:
    return await lookup_account(page.session, acct, page.settings.server_name)


async def _relationship(page: Page, account: Account) -> Relationship | None:
    if page.account is None or page.account.id == account.id:
        return None
    return (await load_relationships(page.session, page.account.id, [account.id]))[account.id]


def _meta(page: Page, view: AccountView) -> dict[str, Any]:
    base = page.settings.base_url
    title = f"{view.name} (@{view.acct})"
    description = view.note_text or f"Posts by {view.name} on {page.settings.server_name}."
    return {
        "description": description,
        "og": {"type": "profile", "title": title, "url": f"{base}{view.path}", "description": description,
               "image": absolute(view.avatar, base), "published": None},
        "alternates": [
            {"type": "application/rss+xml", "href": f"{base}/@{view.acct}.rss", "title": f"{title} (RSS)"},
            {"type": "application/json", "href": f"{base}/api/v1/accounts/{view.id}", "title": None},
        ] if view.local else [
            {"type": "application/json", "href": f"{base}/api/v1/accounts/{view.id}", "title": None},
        ],
    }


async def _profile(request: Request, page: Page, acct: str, *, replies: bool) -> Response:
    account = await _account(page, acct)
    view = account_view(account, page.settings.base_url)
    limit = paging(request).limit
    found = await account_statuses(
        page.session, page.account, account.id, paging(request), AccountStatusesFilter(exclude_replies=not replies)
    )
    pinned: list[StatusView] = []
    if not replies and paging(request).max_id is None:
        pins = await account_statuses(
            page.session, page.account, account.id, Paging(limit=5), AccountStatusesFilter(pinned=True)
        )
        pinned = await views_of(page, pins.statuses)
    return await render_app(
        page, "profile.html", title=f"{view.name} (@{view.acct})", account=view, tab="replies" if replies else "posts",
        relationship=await _relationship(page, account), pinned=pinned,
        statuses=await views_of(page, found.statuses), older=older_link(request, found.cursor_ids, limit),
        accounts=None, **_meta(page, view),
    )


@router.get("/@{acct}.rss", include_in_schema=False)
@guarded
async def profile_feed(acct: str, page: Page = Depends(page_context)) -> Response:
    account = await _account(page, acct)
    if account.domain is not None:
        raise NotFound()
    found = await account_statuses(
        page.session, None, account.id, Paging(limit=RSS_ITEMS),
        AccountStatusesFilter(exclude_replies=True, exclude_reblogs=True),
    )
    base = page.settings.base_url
    view = account_view(account, base)
    statuses = [s for s in found.statuses if s.visibility == "public"]
    return rss(
        title=f"{view.name} (@{view.acct})", link=f"{base}{view.path}", self_link=f"{base}/@{view.acct}.rss",
        description=view.note_text or f"Public posts by {view.name}", image=absolute(view.avatar, base),
        items=await status_views(page.session, statuses, None, base), base=base,
    )


@router.get("/tags/{name}.rss", include_in_schema=False)
@guarded
async def tag_feed(name: str, page: Page = Depends(page_context)) -> Response:
    tag = await show_tag(page.session, None, name)
    statuses = await tag_timeline(page.session, None, Paging(limit=RSS_ITEMS), name, PublicFilter(local=True))
    base = page.settings.base_url
    return rss(
        title=f"#{tag.name}", link=f"{base}/tags/{tag.name_lower}", self_link=f"{base}/tags/{tag.name_lower}.rss",
        description=f"Public posts tagged #{tag.name} on {page.settings.server_name}", image=None,
        items=await status_views(page.session, [s for s in statuses if s.visibility == "public"], None, base),
        base=base,
    )


def _rfc822(dt: datetime) -> str:
    return format_datetime(dt, usegmt=True)


def rss(
    *, title: str, link: str, self_link: str, description: str, image: str | None, items: list[StatusView], base: str
) -> Response:
    """RSS 2.0; every text is XML-escaped, the content as escaped HTML in <description>."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(link)}</link>",
        f'<atom:link href="{escape(self_link)}" rel="self" type="application/rss+xml"/>',
        f"<description>{escape(description)}</description>",
    ]
    if image:
        out.append(f"<image><url>{escape(image)}</url><title>{escape(title)}</title><link>{escape(link)}</link></image>")
    if items:
        out.append(f"<lastBuildDate>{_rfc822(items[0].created_at)}</lastBuildDate>")
    for s in items:
        body = str(s.content)
        if s.spoiler_text:
            body = f"<p>{escape(s.spoiler_text)}</p>" + body
        for m in s.media:
            body += f'<p><img src="{html_escape(absolute(m.url, base))}" alt="{html_escape(m.description)}"></p>'
        url = f"{base}{s.path}"
        out += [
            "<item>",
            f'<guid isPermaLink="true">{escape(url)}</guid>',
            f"<link>{escape(url)}</link>",
            f"<pubDate>{_rfc822(s.created_at)}</pubDate>",
            f"<description>{escape(body)}</description>",
            *(f"<category>{escape(t)}</category>" for t in s.tags),
            "</item>",
        ]
    out += ["</channel>", "</rss>"]
    return Response("\n".join(out), media_type="application/rss+xml; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@router.get("/@{acct}/with_replies", include_in_schema=False)
@guarded
async def profile_with_replies(acct: str, request: Request, page: Page = Depends(page_context)) -> Response:
    return await _profile(request, page, acct, replies=True)


async def _connections(request: Request, page: Page, acct: str, *, followers: bool) -> Response:
    account = await _account(page, acct)
    view = account_view(account, page.settings.base_url)
    limit = paging(request, 40).limit
    lister = list_followers if followers else list_following
    rows = await lister(page.session, page.account, account.id, paging(request, 40))
    base = page.settings.base_url
    return await render_app(
        page, "profile.html", title=f"{'Followers of' if followers else 'Followed by'} {view.name} (@{view.acct})",
        account=view, tab="followers" if followers else "following", relationship=await _relationship(page, account),
        pinned=[], statuses=[], accounts=[account_view(r.account, base) for r in rows],
        older=older_link(request, [r.cursor for r in rows], limit), **_meta(page, view),
    )


@router.get("/@{acct}/followers", include_in_schema=False)
@guarded
async def followers(acct: str, request: Request, page: Page = Depends(page_context)) -> Response:
    return await _connections(request, page, acct, followers=True)


@router.get("/@{acct}/following", include_in_schema=False)
@guarded
async def following(acct: str, request: Request, page: Page = Depends(page_context)) -> Response:
    return await _connections(request, page, acct, followers=False)


@router.get("/@{acct}", include_in_schema=False)
@guarded
async def profile(acct: str, request: Request, page: Page = Depends(page_context)) -> Response:
    return await _profile(request, page, acct, replies=False)


@router.post("/accounts/{account_id}/follow", include_in_schema=False)
@guarded
async def follow(account_id: str, page: Page = Depends(page_context)) -> Response:
    form = await posted_form(page)
    if not isinstance(form, dict):
        return form
    assert page.account is not None
    target_id = parse_id(account_id)
    if target_id is None:
        raise NotFound()
    if form.get("do") == "unfollow":
        target = await unfollow_account(page.session, page.account, target_id)
    else:
        target = await follow_account(page.session, page.account, target_id)
    await page.commit()
    return back(page, form, f"/@{target.acct}")
