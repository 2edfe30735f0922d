"""Server-rendered web pages (Jinja2): every page and form works without JavaScript.

Every page answers ``HEAD`` as it answers ``GET``: FastAPI's routes, unlike Starlette's plain ones, do
not add ``HEAD`` by themselves, so it is added here to each page route (the API's routes, and the pages' live
stream under ``/api/``, keep their methods). The server sends the headers of the ``GET`` answer without its body.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

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


def _answer_head(pages: APIRouter) -> APIRouter:
    for route in pages.routes:
        if isinstance(route, APIRoute) and route.methods is not None and "GET" in route.methods:
            route.methods.add("HEAD")
    return pages


router = APIRouter()
router.include_router(_answer_head(auth_pages.router))
router.include_router(_answer_head(authorize.router))
# Before the streaming API's catch-all /api/v1/streaming/{path} (this router comes first in ROUTERS).
router.include_router(live_stream.router)
# Profile routes before status routes: /@name/followers must win over /@name/{status_id},
# and /@name.rss and /tags/name.rss over /@name and /tags/name.
router.include_router(_answer_head(profile_pages.router))
router.include_router(_answer_head(status_pages.router))
router.include_router(_answer_head(timeline_pages.router))
router.include_router(_answer_head(notification_pages.router))
router.include_router(_answer_head(search_page.router))
router.include_router(_answer_head(settings_pages.router))
router.include_router(_answer_head(admin_pages.router))
router.include_router(_answer_head(about_page.router))

