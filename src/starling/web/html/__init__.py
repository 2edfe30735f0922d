"""Server-rendered web pages (Jinja2): every page and form works without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter

from starling.web.html import (
    about_page,
    admin_pages,
    auth_pages,
    authorize,
    live_stream,
    notification_pages,
    profile_pages,
    search_page,
    settings_pages,
    status_pages,
    timeline_pages,
)

router = APIRouter()
router.include_router(auth_pages.router)
router.include_router(authorize.router)
# Before the streaming API's catch-all /api/v1/streaming/{path} (this router comes first in ROUTERS).
router.include_router(live_stream.router)
# Profile routes before status routes: /@name/followers must win over /@name/{status_id},
# and /@name.rss and /tags/name.rss over /@name and /tags/name.
router.include_router(profile_pages.router)
router.include_router(status_pages.router)
router.include_router(timeline_pages.router)
router.include_router(notification_pages.router)
router.include_router(search_page.router)
router.include_router(settings_pages.router)
router.include_router(admin_pages.router)
router.include_router(about_page.router)
