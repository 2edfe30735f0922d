"""Every /api/ path this server does not serve yet answers in Mastodon's error shape.

A GET whose honest answer here is an empty list answers ``[]`` as Mastodon does: trends are off,
and there are no follow suggestions. Weekly activity statistics are off (404, as a Mastodon server
with its activity API disabled answers). A path that is served, asked for with a
trailing slash, is redirected to its canonical form (308 keeps the method and body). Everything
else is listed as "not yet" in docs/COMPATIBILITY.md.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

from starling.web.errors import error_response
from starling.web.responses import JSONResponse

router = APIRouter()

EMPTY_LISTS = frozenset({
    "/api/v1/trends",
    "/api/v1/trends/tags",
    "/api/v1/trends/statuses",
    "/api/v1/trends/links",
    "/api/v1/suggestions",
    "/api/v2/suggestions",
})

# Off on this server, answered as Mastodon answers when an admin turned them off.
DISABLED = frozenset({"/api/v1/instance/activity"})


def _served_elsewhere(request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path}
    for route in request.app.router.routes:
        if getattr(route, "endpoint", None) is not_implemented or getattr(route, "original_router", None) is router:
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return True
    return False


@router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def not_implemented(request: Request, rest: str) -> Response:
    path = "/api/" + rest.rstrip("/")
    if request.method == "GET" and path in EMPTY_LISTS:
        return JSONResponse([])
    if request.method == "GET" and path in DISABLED:
        return error_response(404, "Record not found")
    if path != request.url.path and _served_elsewhere(request, path):
        return RedirectResponse(str(request.url.replace(path=path)), status_code=308)
    if not (rest.startswith("v1/") or rest.startswith("v2/")):
        return error_response(404, "Record not found")
    return error_response(501, f"{request.method} {path} is not implemented on this server yet")
