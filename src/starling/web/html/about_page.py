"""About the server: its description and rules, readable by anyone."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from starling.repositories import instance as repo
from starling.web.html.common import guarded, render_app
from starling.web.html.session import Page, page_context

router = APIRouter()


@router.get("/about", include_in_schema=False)
@guarded
async def about(page: Page = Depends(page_context)) -> Response:
    stored = await repo.get_setting(page.session, repo.DESCRIPTION)
    text = stored if isinstance(stored, str) else ""
    return await render_app(
        page, "about.html", title="About", text=text, rules=await repo.list_rules(page.session),
        mode=await repo.registrations_mode(page.session, page.settings), description=text or None,
    )
