"""Jinja2 rendering for the server-rendered pages: autoescaped, with the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from starling.repositories.instance import TITLE, get_setting
from starling.web.html.banner import banner_context
from starling.web.html.session import CSRF_FIELD, Page

TEMPLATES_DIR = Path(__file__).parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Pages that handle passwords and codes: never cached, never framed, no scripts, nothing from elsewhere.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
}


# Every other page: its own script and styles only, nothing from elsewhere; forms post only here.
APP_HEADERS = {
    "Cache-Control": "private, no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


async def instance_title(page: Page) -> str:
    stored = await get_setting(page.session, TITLE)
    return stored if isinstance(stored, str) and stored else page.settings.instance_title


async def render(
    page: Page, template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Response:
    values: dict[str, Any] = {
        "instance_title": await instance_title(page),
        "csrf_field": CSRF_FIELD,
        "csrf_token": page.csrf_token,
        "current_account": page.account,
        **await banner_context(page),
    }
    values.update(context)
    html = _env.get_template(template).render(values)
    return page.finish(HTMLResponse(html, status_code=status_code, headers=headers or PAGE_HEADERS))


def redirect(page: Page, url: str, *, status_code: int = 303) -> Response:
    return page.finish(RedirectResponse(url, status_code=status_code, headers={"Cache-Control": "no-store"}))
