"""The error page a browser gets for an address nothing answers (``/nope``, a mistyped ``/@name/...``).

A browser says it wants a page: its ``Accept`` names ``text/html`` (every navigation does). Such a
request outside ``/api/`` gets the HTML error page with the status; everything else keeps Mastodon's
``{"error": ...}``: the whole API whatever it accepts, and programs that accept anything (``*/*``) or
JSON anywhere, so clients, other servers and scripts see the same error shape as before.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from starlette.requests import Request
from starlette.responses import Response

from starling.web.html.common import error_page
from starling.web.html.session import page_context

log = logging.getLogger("starling.web")

NOT_FOUND_MESSAGE = "This page does not exist, or you may not see it."


def wants_html_error(request: Request) -> bool:
    """Whether an error for this request should be the HTML page rather than Mastodon's JSON."""
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "").lower()


async def html_error(request: Request, status_code: int, message: str) -> Response | None:
    """The error page for ``request`` (with the reader's navigation when signed in), or None when it
    cannot be rendered (the database is unavailable, say): the caller answers in JSON then."""
    try:
        async with asynccontextmanager(page_context)(request) as page:
            return await error_page(page, status_code, message)
    except Exception:
        log.warning("could not render the error page for %s %s", request.method, request.url.path, exc_info=True)
        return None
