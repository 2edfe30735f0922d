"""The whole story in a real browser, once with JavaScript and once without: sign up, post, follow
someone, see their post at home, like it, reply and see the thread, then sign out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import api_post, article, png, post, sign_up, wait_for
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_story(live: LiveServer, chromium: Any, javascript: bool) -> None:
    suffix = "js" if javascript else "nojs"
    me, friend = f"amy_{suffix}", f"ben_{suffix}"
    base = live.base_url
    ben = live.seed_actor(friend)
    await api_post(base, ben.token, f"Hello from {friend}")
    context = await chromium.new_context(java_script_enabled=javascript, viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))

    await sign_up(page, base, me)
    assert await page.locator("h1").inner_text() == "Welcome"
    await page.click("text=Continue")
    await page.wait_for_url(f"{base}/")

    await post(page, base, f"First post by {me}")
    assert await article(page, f"First post by {me}").is_visible()

    await page.fill("#status", f"A photo by {me}")
    await page.set_input_files("#media", files=[{"name": "leaf.png", "mimeType": "image/png", "buffer": png()}])
    await page.fill("#alt", "A green leaf on a wooden table")
    await page.click("#compose button[type=submit]")
    await page.wait_for_load_state()
    photo = article(page, f"A photo by {me}").locator("img[alt='A green leaf on a wooden table']")
    assert await photo.get_attribute("loading") == "lazy"
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0") or await photo.is_visible()

    await page.goto(f"{base}/@{friend}")
    await page.click("button:has-text('Follow')")
    await page.wait_for_load_state()
    assert await page.locator("button:has-text('Unfollow')").is_visible()

    async def friend_at_home() -> bool:
        await page.goto(f"{base}/")
        return bool(await article(page, f"Hello from {friend}").count())

    assert await wait_for(friend_at_home), "the followed account's post never reached the home timeline"

    post_id = str(await article(page, f"Hello from {friend}").get_attribute("id"))[1:]
    url_before = page.url
    await article(page, f"Hello from {friend}").locator("button:has-text('Like')").click()

    async def liked() -> bool:
        like = article(page, f"Hello from {friend}").locator("button:has-text('Like')")
        return bool(await like.get_attribute("aria-pressed") == "true")

    assert await wait_for(liked)
    assert await article(page, f"Hello from {friend}").locator("button:has-text('Like')").inner_text() == "Like 1"
    if javascript:
        assert page.url == url_before  # liked in place, no reload
    else:
        assert page.url == f"{base}/#s{post_id}"  # back where the reader was

    await article(page, f"Hello from {friend}").locator("a:has-text('Reply')").click()
    await page.wait_for_load_state()
    assert await page.locator("#status").input_value() == f"@{friend} "
    await page.fill("#status", f"@{friend} A reply from {me}")
    await page.click("#compose button[type=submit]")
    await page.wait_for_url(f"{base}/@{me}/*")
    assert f"A reply from {me}" in await page.locator("article.focus").inner_text()
    assert f"Hello from {friend}" in await page.locator("section[aria-label='Earlier in the thread']").inner_text()
    await page.click("section[aria-label='Earlier in the thread'] a.tm")
    await page.wait_for_url(f"{base}/@{friend}/{post_id}")
    assert f"A reply from {me}" in await page.locator("section[aria-label='Replies']").inner_text()

    await page.click("button:has-text('Sign out')")
    await page.wait_for_url(f"{base}/auth/sign_in")
    await page.goto(f"{base}/")
    assert page.url == f"{base}/public/local"
    assert await page.locator("button:has-text('Sign out')").count() == 0
    assert elsewhere == []
    await context.close()
