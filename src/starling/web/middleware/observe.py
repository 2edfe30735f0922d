"""The outermost layer: request id, request metrics and the access log line.

The request id comes from the caller's ``X-Request-Id`` when it is plain, is made otherwise, and is
sent back on the response. Metrics are labelled by route template (``/api/v1/statuses/{status_id}``),
never by raw path, so their number stays bounded.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from starling import metrics
from starling.web.middleware.classify import bypasses
from starling.web.middleware.context import current_request_id, header, new_request_id, request_info

access_log = logging.getLogger("starling.access")

UNMATCHED = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's template; requests answered before routing are named by how they were answered."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    info = request_info(scope)
    if info.ratelimited:
        return "<ratelimited>"
    if info.stale:
        return "<stale>"
    if info.shed:
        return "<shed>"
    return UNMATCHED


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, metrics_enabled: bool = True) -> None:
        self.app = app
        self.metrics_enabled = metrics_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        info.request_id = new_request_id(header(scope, b"x-request-id"))
        token = current_request_id.set(info.request_id)
        request_id_header = (b"x-request-id", info.request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), request_id_header]}
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            duration = time.perf_counter() - started
            self._record(scope, status, duration)
            current_request_id.reset(token)

    def _record(self, scope: Scope, status: int, duration: float) -> None:
        info = request_info(scope)
        route = route_template(scope)
        method = scope["method"]
        if self.metrics_enabled:
            labels = {"method": method, "route": route, "status": metrics.status_class(status)}
            metrics.HTTP_REQUESTS.labels(**labels).inc()
            metrics.HTTP_LATENCY.labels(**labels).observe(duration)
        path = scope["path"]
        fields = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(duration * 1000, 2),
            "request_id": info.request_id,
            "account_id": info.account_id,
            "priority": info.priority,
            "shed": info.shed,
            "shed_reason": info.shed_reason,
            "shed_state": info.shed_state,
            "stale": info.stale,
            "ratelimited": info.ratelimited,
        }
        level = logging.DEBUG if bypasses(path) else logging.INFO
        if access_log.isEnabledFor(level):
            if info.shed:
                access_log.log(level, "%s %s %s %.1fms shed: %s (%s)", method, path, status, duration * 1000,
                               info.shed_reason, info.shed_state, extra=fields)
            else:
                access_log.log(level, "%s %s %s %.1fms", method, path, status, duration * 1000, extra=fields)
