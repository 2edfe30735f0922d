"""Pure ASGI middleware around every request: observation, rate limits, admission (outermost first).

docs/OVERLOAD.md describes what each layer does and how to configure it.
"""

from __future__ import annotations

from fastapi import FastAPI

from starling.config import Settings
from starling.web.middleware.admission import AdmissionController, AdmissionMiddleware
from starling.web.middleware.observe import ObserveMiddleware
from starling.web.middleware.ratelimit import RateLimitMiddleware
from starling.web.middleware.stale_cache import StaleCache


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Add the layers; Starlette runs the last one added first."""
    controller = AdmissionController(
        settings.max_concurrency, settings.admission_queue_limits, settings.admission_deadlines
    )
    cache = StaleCache(ttl=settings.stale_cache_ttl, max_entries=settings.stale_cache_entries)
    app.add_middleware(AdmissionMiddleware, controller=controller, cache=cache, enabled=settings.admission_enabled)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(ObserveMiddleware, metrics_enabled=settings.metrics_enabled)
    app.state.admission = controller
    app.state.metrics_enabled = settings.metrics_enabled
