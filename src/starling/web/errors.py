"""Every error leaves as Mastodon's ``{"error": "..."}`` with the right status; never a bare 500 page."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from starling.domain.errors import FieldDetails, RateLimited, StarlingError, Unprocessable
from starling.web.responses import JSONResponse

log = logging.getLogger("starling.web")

_MESSAGES = {
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    405: "Method not allowed",
    413: "The request is too large",
}


def error_response(
    status: int, message: str, description: str | None = None, details: FieldDetails | None = None
) -> JSONResponse:
    body: dict[str, object] = {"error": message}
    if description:
        body["error_description"] = description
    if status == 422:
        body["details"] = details or {}
    headers = {"WWW-Authenticate": 'Bearer realm="Starling", error="invalid_token"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarlingError)
    async def _starling(_request: Request, exc: StarlingError) -> Response:
        details = exc.details if isinstance(exc, Unprocessable) else None
        response = error_response(exc.status_code, exc.message, exc.description, details)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = "60"
        return response

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in _MESSAGES else None
        response = error_response(exc.status_code, message or _MESSAGES.get(exc.status_code, "Error"))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{loc} {err.get('msg', 'is invalid')}".strip())
        return error_response(422, "Validation failed: " + "; ".join(parts))

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> Response:
        # The client left while its body was being read: nobody is there to answer, nothing was written.
        return error_response(400, "The client closed the connection")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "An unexpected error occurred")
