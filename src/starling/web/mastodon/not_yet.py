"""Every /api/ path this server does not serve yet answers in Mastodon's error shape.

A GET whose honest answer here is an empty list answers ``[]`` as Mastodon does (trends are off,
there are no suggestions or announcements yet). Everything else is listed as "not yet" in
docs/COMPATIBILITY.md.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from starling.web.errors import error_response
from starling.web.responses import JSONResponse

router = APIRouter()

EMPTY_LISTS = {
    "/api/v1/trends",
    "/api/v1/trends/tags",
    "/api/v1/trends/statuses",
    "/api/v1/trends/links",
    "/api/v1/suggestions",
    "/api/v2/suggestions",
    "/api/v1/announcements",
    "/api/v1/directory",
    "/api/v1/instance/peers",
    "/api/v1/instance/activity",
}


@router.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def not_implemented(request: Request, rest: str) -> Response:
    path = "/api/" + rest.rstrip("/")
    if request.method == "GET" and path in EMPTY_LISTS:
        return JSONResponse([])
    if not (rest.startswith("v1/") or rest.startswith("v2/")):
        return error_response(404, "Record not found")
    return error_response(501, f"{request.method} {path} is not implemented on this server yet")
