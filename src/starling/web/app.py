"""The ASGI application: routes, error handlers and the lifespan that owns the container."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from starling import __version__
from starling.bootstrap import Container, build_container
from starling.config import Settings, get_settings
from starling.services.media.setup import media_setup
from starling.web.errors import install_error_handlers
from starling.web.health import router as health_router
from starling.web.health import set_draining
from starling.web.mastodon import urls
from starling.web.mastodon.streaming import StreamingFront, StreamingMiddleware, start_streaming, stop_streaming
from starling.web.middleware import install_middleware
from starling.web.middleware.activity import ActivityMiddleware
from starling.web.middleware.logs import configure_logging
from starling.web.middleware.readonly import ReadOnlyMiddleware
from starling.web.middleware.write_lane import WriteLaneMiddleware
from starling.web.responses import JSONResponse
from starling.web.routes import ROUTERS

STATIC_DIR = Path(__file__).parent / "html" / "static"


class StarlingApp(FastAPI):
    """FastAPI with open streams served in front of the middleware stack (docs/STREAMING.md): a stream's
    handshake goes through every layer, the hours that follow through none of them."""

    def build_middleware_stack(self) -> ASGIApp:
        return StreamingFront(super().build_middleware_stack())


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = container is None
        if own:
            configure_logging(settings)
        c = container or build_container(settings)
        app.state.container = c
        if own and settings.run_jobs_in_server:
            await c.start_jobs()
        if own:
            await start_streaming(c)
        try:
            yield
        finally:
            if own:
                set_draining()
                await stop_streaming(c)
                await c.close()

    app = StarlingApp(
        title="Starling",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    if container is not None:
        app.state.container = container
    urls.set_media_base_url(settings.media_base_url)
    media_setup(settings)  # the storage this process's jobs use
    install_error_handlers(app)
    # Innermost: a request that writes is handled on the write lane once every layer has admitted it.
    app.add_middleware(WriteLaneMiddleware, body_limit=settings.write_lane_body_limit)
    # A stream's handshake passes through every layer and skips routing; StreamingFront (in front of
    # them all) then serves the open stream, so an idle one holds as little as it can.
    app.add_middleware(StreamingMiddleware)
    app.add_middleware(ReadOnlyMiddleware)
    app.add_middleware(ActivityMiddleware)
    install_middleware(app, settings)
    app.include_router(health_router)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    logging.getLogger("starling").setLevel(settings.log_level.upper())
    return app
