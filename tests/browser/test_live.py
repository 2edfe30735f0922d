"""Live updates with JavaScript: a new post from someone followed is announced on the home page and
shown on request, through the streaming API with the browser's session (no token in the page)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.helpers import api_post, sign_in, wait_for
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("browser")]


async def test_new_posts_arrive_without_reload(live: LiveServer, chromium: Any) -> None:
    base = live.base_url
    writer = live.seed_actor("writer")
    reader = live.seed_actor("reader")
    async with httpx.AsyncClient(base_url=base, headers=reader.headers) as c:
        assert (await c.post(f"/api/v1/accounts/{writer.id}/follow")).status_code == 200
    context = await chromium.new_context()
    page = await context.new_page()
    await sign_in(page, base, "reader")
    stream = await page.locator("[data-stream]").get_attribute("data-stream")
    assert stream == "/api/v1/streaming/web/user"
    assert "access_token" not in await page.content()
    await page.wait_for_selector("[data-live=open]")  # the event source is connected
    await api_post(base, writer.token, "Fresh from the oven")

    async def announced() -> bool:
        return bool(await page.locator("button.live:not([hidden])").count())

    assert await wait_for(announced), "no new post was announced"
    assert await page.locator("button.live").inner_text() == "Show 1 new post"
    assert await page.locator("p[role=status]").inner_text() == "Show 1 new post"
    await page.click("button.live")
    first = page.locator("article").first
    assert "Fresh from the oven" in await first.inner_text()
    assert await page.evaluate("document.activeElement.tagName") == "ARTICLE"
    like = first.locator("button:has-text('Like')")
    await like.click()

    async def liked() -> bool:
        return bool(await like.get_attribute("aria-pressed") == "true")

    assert await wait_for(liked)
    await context.close()


async def test_signed_out_pages_cannot_follow_a_home_stream(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as c:
        r = await c.get("/api/v1/streaming/web/user")
        assert r.status_code == 401
        r = await c.get("/api/v1/streaming/web/direct")
        assert r.status_code == 404
