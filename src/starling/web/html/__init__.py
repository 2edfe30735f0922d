"""Server-rendered web pages (Jinja2)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
