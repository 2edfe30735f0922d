"""Serving stored media files (``GET /system/media/<key>``), for setups without a CDN in front.

Each file is sent with the Content-Type of the format the pipeline wrote (never guessed from the
content), ``X-Content-Type-Options: nosniff``, a Content-Security-Policy that lets nothing run even
if a browser opened the file as a document, and a year of caching: a file's key changes whenever its
content would, so a key is never reused for different bytes. Keys are checked by the storage, so a
path can never leave the media directory.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from starling.services.media.setup import media_setup
from starling.web.errors import error_response

router = APIRouter()

MEDIA_PREFIX = "/system/media"
HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Access-Control-Allow-Origin": "*",
    "Referrer-Policy": "no-referrer",
}


@router.api_route(MEDIA_PREFIX + "/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def media_file(key: str, request: Request) -> Response:
    storage = media_setup(request.app.state.container.settings).storage
    stored = storage.get(key)
    if stored is None:
        response = error_response(404, "Record not found")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return FileResponse(stored.path, media_type=stored.content_type, headers=dict(HEADERS))
