"""Mastodon API: announcements from the admins (``starling maintenance announce``).

Reactions are not served: their paths fall through to the "not yet" answer (501).
A client may read the list without a token (nothing is marked read then), so the web banner and
apps showing a server's notices before sign-in see the same thing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from starling.domain.text import extract_tags, normalize_tag, render_html
from starling.models import Announcement
from starling.services.maintenance.dismiss_announcement import dismiss_announcement
from starling.services.maintenance.list_announcements import current_announcements
from starling.web.deps import Ctx, auth, public
from starling.web.mastodon.present import base_url, path_id
from starling.web.mastodon.render import iso
from starling.web.responses import json_response

router = APIRouter()


def announcement_html(announcement: Announcement, base: str) -> str:
    """The text as escaped HTML: links and hashtags linked; mentions stay text (no mentions list)."""
    return render_html(announcement.text, base_url=base, resolve_mention=lambda _user, _domain: None)


def to_mastodon_announcement(announcement: Announcement, read: bool, base: str) -> dict[str, Any]:
    tags = [normalize_tag(name) for name in extract_tags(announcement.text)]
    return {
        "id": str(announcement.id),
        "content": announcement_html(announcement, base),
        "starts_at": iso(announcement.starts_at),
        "ends_at": iso(announcement.ends_at),
        "all_day": announcement.all_day,
        "published_at": iso(announcement.published_at or announcement.created_at),
        "updated_at": iso(announcement.updated_at),
        "read": read,
        "mentions": [],
        "statuses": [],
        "tags": [{"name": name, "url": f"{base}/tags/{name}"} for name in tags],
        "emojis": [],
        "reactions": [],
    }


@router.get("/api/v1/announcements")
async def list_announcements(ctx: Ctx = Depends(public("read"))) -> Response:
    account = ctx.account_or_none
    shown = await current_announcements(ctx.session, account.id if account else None)
    base = base_url(ctx)
    return json_response([to_mastodon_announcement(s.announcement, s.read, base) for s in shown])


@router.post("/api/v1/announcements/{announcement_id}/dismiss")
async def dismiss(announcement_id: str, ctx: Ctx = Depends(auth("write:accounts"))) -> Response:
    await dismiss_announcement(ctx.session, ctx.account, path_id(announcement_id))
    await ctx.commit()
    return json_response({})
