"""ASGI entry point for servers: ``uvicorn starling.web.asgi:app``."""

from starling.web.app import create_app

app = create_app()
