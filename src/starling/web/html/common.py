"""What every page of the web interface shares: the signed-in check, form posts with their CSRF check
and redirect back, the error page, paging, and rendering inside the main layout.

Handlers stay thin: read the form, call the same service the Mastodon API handler calls, commit,
redirect back (or, for the small script, answer JSON). A service's error becomes an HTML page with the
error's own status and message, and nothing half-written is kept (the transaction is rolled back).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from starling.domain.errors import StarlingError
from starling.domain.ids import parse_id
from starling.domain.paging import Page as Paging
from starling.repositories.accounts import count_follow_requests
from starling.web.html.forms import bad_form, csrf_failed, read_form_and_files, safe_next
from starling.web.html.media_forms import media_enabled
from starling.web.html.session import CSRF_FIELD, Page
from starling.web.html.templating import APP_HEADERS, redirect, render
from starling.web.html.views import account_view

PAGE_SIZE = 20
P = ParamSpec("P")


def stream_url(page: Page, stream: str) -> str | None:
    """Where the page's script listens for new posts (live_stream.py): a timeline's first page only."""
    if page.request.query_params.get("max_id"):
        return None
    return f"/api/v1/streaming/web/{stream}"


def here(request: Request) -> str:
    """This page's address, for forms to come back to."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def sign_in_redirect(page: Page) -> Response:
    return redirect(page, "/auth/sign_in?next=" + quote(here(page.request), safe="/"))


def wants_json(request: Request) -> bool:
    """The page's script asks for the new state instead of a redirect (``Accept: application/json``)."""
    return "application/json" in request.headers.get("accept", "")


def paging(request: Request, limit: int = PAGE_SIZE) -> Paging:
    raw = request.query_params.get("max_id")
    return Paging(max_id=parse_id(raw) if raw else None, limit=limit)


async def render_app(page: Page, template: str, *, status_code: int = 200, **context: Any) -> Response:
    """Render inside the main layout (navigation, the page's script)."""
    me = account_view(page.account, page.settings.base_url) if page.account is not None else None
    requests = 0
    if page.account is not None and page.account.locked:
        requests = await count_follow_requests(page.session, page.account.id)
    values: dict[str, Any] = {
        "me": me,
        "is_admin": bool(page.user is not None and page.user.admin),
        "here": here(page.request),
        "follow_requests": requests,
        "description": None,
        "og": None,
        "alternates": [],
        "media_enabled": media_enabled(),
    }
    values.update(context)
    return await render(page, template, status_code=status_code, headers=app_headers(page), **values)


def app_headers(page: Page) -> dict[str, str]:
    """The page headers; media served from another origin (a CDN) is allowed as images and video."""
    media = page.settings.media_base_url
    if not media:
        return APP_HEADERS
    parts = urlsplit(media)
    origin = f"{parts.scheme}://{parts.netloc}"
    csp = APP_HEADERS["Content-Security-Policy"].replace("img-src 'self' data:", f"img-src 'self' data: {origin}")
    csp = csp.replace("media-src 'self'", f"media-src 'self' {origin}")
    return {**APP_HEADERS, "Content-Security-Policy": csp}


async def error_page(page: Page, status_code: int, message: str) -> Response:
    titles = {401: "Sign in needed", 403: "Not allowed", 404: "Not found", 422: "Could not do that"}
    return await render_app(
        page, "error.html", status_code=status_code, title=titles.get(status_code, "Something went wrong"),
        message=message,
    )


async def rollback(page: Page) -> None:
    """Undo the request's writes; the signed-in rows are loaded again (a rollback expires them)."""
    await page.session.rollback()
    for row in (page.account, page.user):
        if row is not None:
            await page.session.refresh(row)


def guarded(
    handler: Callable[P, Awaitable[Response]],
) -> Callable[P, Awaitable[Response]]:
    """Turn a service's error into an HTML page (with its status), after rolling the transaction back."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await handler(*args, **kwargs)
        except StarlingError as exc:
            page = kwargs.get("page")
            if not isinstance(page, Page):
                raise
            await rollback(page)
            if wants_json(page.request):
                return JSONResponse({"error": exc.message}, status_code=exc.status_code)
            message = "This page does not exist, or you may not see it." if exc.status_code == 404 else exc.message
            return await error_page(page, exc.status_code, message)

    return wrapper


async def posted_form(page: Page, *, max_files: int = 0) -> dict[str, str] | Response:
    """The submitted form when it carries this session's CSRF token and someone is signed in; its files
    (at most ``max_files``) go to ``page.uploads``."""
    read = await read_form_and_files(page.request, max_files)
    if read is None:
        return await bad_form(page)
    form, page.uploads = read
    if not page.csrf_ok(form.get(CSRF_FIELD)):
        return await csrf_failed(page)
    if page.account is None:
        return sign_in_redirect(page)
    return form


def back(page: Page, form: dict[str, str], default: str = "/", anchor: str | None = None) -> Response:
    """Redirect to where the form came from (never off the site), to the item acted on when given."""
    target = safe_next(form.get("next"), default)
    if anchor and "#" not in target:
        target += f"#{anchor}"
    return redirect(page, target)
