"""Every error leaves as Mastodon's ``{"error": "..."}`` with the right status; never a bare 500 page.

The one exception: a browser at an address nothing answers gets the HTML error page (web/html/error_pages.py).
"""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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

DATABASE_UNAVAILABLE = "The database is unavailable, try again shortly"
# While the database is down every request fails the same way: log one line per interval, not a
# traceback per request (a few seconds of outage would otherwise write thousands of them).
_DB_LOG_INTERVAL = 1.0
_db_log = {"last": 0.0, "suppressed": 0}


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached (not that a query was wrong).

    Such a request changed nothing durable and may simply be sent again, so it gets 503 with
    ``Retry-After`` rather than 500. SQLite's "database is locked" past the busy timeout is an
    ``OperationalError`` too, and the same answer fits it.
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    # PostgreSQL refusing connections while it shuts down or starts ("cannot connect now", 57P0x) or a
    # broken connection (class 08), which some drivers report as a plain DBAPIError.
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    return sqlstate.startswith(("08", "57P0")) or sqlstate == "53300"


def _log_database_unavailable(request: Request, exc: BaseException) -> None:
    now = time.monotonic()
    if now - _db_log["last"] < _DB_LOG_INTERVAL:
        _db_log["suppressed"] += 1
        return
    suppressed, _db_log["suppressed"], _db_log["last"] = _db_log["suppressed"], 0, now
    log.error(
        "database unavailable on %s %s: %s: %s (%d more such requests answered 503 since the last report)",
        request.method, request.url.path, type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "",
        suppressed,
    )


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
        if exc.status_code == 404:
            # A browser at an address nothing answers gets the error page (web/html/error_pages.py).
            from starling.web.html.error_pages import NOT_FOUND_MESSAGE, html_error, wants_html_error

            if wants_html_error(_request):
                page = await html_error(_request, 404, NOT_FOUND_MESSAGE)
                if page is not None:
                    return page
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

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    async def _database(request: Request, exc: Exception) -> Response:
        # Registered for these classes (not only as "Exception") so the answer is a handled error:
        # the connection stays usable for the client's next request.
        if not database_unavailable(exc):
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return error_response(500, "An unexpected error occurred")
        _log_database_unavailable(request, exc)
        response = error_response(503, DATABASE_UNAVAILABLE)
        response.headers["Retry-After"] = "1"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "An unexpected error occurred")
