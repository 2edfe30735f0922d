"""Server-rendered web pages (Jinja2)."""

from __future__ import annotations

from fastapi import APIRouter

from starling.web.html import auth_pages, authorize

router = APIRouter()
router.include_router(auth_pages.router)
router.include_router(authorize.router)
