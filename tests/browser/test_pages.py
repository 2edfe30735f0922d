"""The main pages in a real browser: axe-core finds no serious or critical problem (light and dark),
Persian text runs right to left, keyboard-only use works with a visible focus, motion follows the
reader's preference, and the home timeline with 20 posts stays under 40 KB."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import PASSWORD, api_post, article, sign_in, wait_for, web_post, web_session
from tests.support.live_server import LiveServer

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("browser")]

PERSIAN = "سلام! امروز هوا در تهران آفتابی است و باغ پر از گل است."


@dataclass
class World:
    base: str
    status_path: str
    persian_path: str


@pytest.fixture(scope="module")
async def world(live: LiveServer) -> World:
    """An admin who follows a friend; the friend has written twenty posts, one in Persian."""
    live.create_user("root", "root@example.org", PASSWORD, admin=True)
    friend = live.seed_actor("farah")
    base = live.base_url
    for i in range(19):
        await api_post(base, friend.token, f"Post {i}: a short note about the garden, the weather and #seeds")
    persian = await api_post(base, friend.token, PERSIAN, language="fa")
    live.seed_actor("watcher")
    for name in ("root", "watcher"):
        client = await web_session(base, name)
        assert (await web_post(client, f"/accounts/{friend.id}/follow", do="follow")).status_code == 303
        await web_post(client, "/statuses/act", do=f"favourite:{persian}")
        await client.aclose()
    return World(base=base, status_path=f"/@farah/{persian}", persian_path=f"/@farah/{persian}")


async def signed_in_page(chromium: Any, base: str, username: str, **options: Any) -> tuple[Any, Any]:
    context = await chromium.new_context(bypass_csp=True, **options)
    page = await context.new_page()
    await sign_in(page, base, username)
    return context, page


async def axe_problems(page: Any, axe: Path) -> list[str]:
    await page.add_script_tag(path=str(axe))
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


MAIN_PAGES = ["/", "/public/local", "/public", "/@farah", "/@farah/followers", "/tags/seeds", "/notifications",
              "/search?q=farah", "/bookmarks", "/settings/profile", "/settings/applications", "/admin", "/about",
              "/compose"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_no_serious_accessibility_problems(
    live: LiveServer, chromium: Any, axe_path: Path, world: World, scheme: str
) -> None:
    context, page = await signed_in_page(chromium, world.base, "root", color_scheme=scheme)
    problems: dict[str, list[str]] = {}
    for path in [*MAIN_PAGES, world.status_path]:
        response = await page.goto(world.base + path)
        assert response is not None and response.status == 200, path
        found = await axe_problems(page, axe_path)
        if found:
            problems[path] = found
    await context.close()
    anonymous = await chromium.new_context(bypass_csp=True, color_scheme=scheme)
    page = await anonymous.new_page()
    for path in ["/auth/sign_in", "/auth/sign_up", "/@farah", world.status_path, "/public/local"]:
        await page.goto(world.base + path)
        found = await axe_problems(page, axe_path)
        if found:
            problems[f"{path} (signed out)"] = found
    await anonymous.close()
    assert problems == {}


async def test_dark_scheme_is_followed(chromium: Any, world: World) -> None:
    for scheme, expected in (("dark", "rgb(20, 20, 27)"), ("light", "rgb(244, 244, 248)")):
        context = await chromium.new_context(color_scheme=scheme)
        page = await context.new_page()
        await page.goto(world.base + "/public/local")
        assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == expected
        await context.close()


async def test_persian_post_runs_right_to_left(chromium: Any, world: World) -> None:
    context = await chromium.new_context()
    page = await context.new_page()
    for path in (world.persian_path, "/@farah"):
        await page.goto(world.base + path)
        content = article(page, "سلام").locator(".ct")
        assert await content.evaluate("e => getComputedStyle(e).direction") == "rtl"
        english = article(page, "Post 0:").locator(".ct")
        if await english.count():
            assert await english.evaluate("e => getComputedStyle(e).direction") == "ltr"
    await context.close()


async def test_keyboard_only_with_visible_focus(chromium: Any, world: World) -> None:
    context, page = await signed_in_page(chromium, world.base, "watcher")
    await page.goto(world.base + "/")
    await page.keyboard.press("Tab")
    skip = await page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
        const r = e.getBoundingClientRect();
        return {text: e.textContent, outline: s.outlineStyle, width: s.outlineWidth, top: r.top}; }""")
    assert skip["text"] == "Skip to content" and skip["outline"] != "none" and skip["top"] >= 0
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.id") == "main"

    async def tab_to_like() -> bool:
        for _ in range(80):
            await page.keyboard.press("Tab")
            value = await page.evaluate("document.activeElement.value || ''")
            if value.startswith("favourite:"):
                return True
        return False

    assert await tab_to_like(), "no Like button reachable with the keyboard"
    liked_id = (await page.evaluate("document.activeElement.value")).split(":")[1]
    focus = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus != "none"
    await page.keyboard.press("Enter")

    async def pressed() -> bool:
        state = await page.evaluate(
            f"document.querySelector('button[value$=\":{liked_id}\"][value*=favourite]').getAttribute('aria-pressed')"
        )
        return bool(state == "true")

    assert await wait_for(pressed)
    await context.close()


async def test_motion_follows_the_readers_preference(chromium: Any, world: World) -> None:
    for motion, expected in (("reduce", "auto"), ("no-preference", "smooth")):
        context = await chromium.new_context(reduced_motion=motion)
        page = await context.new_page()
        await page.goto(world.base + "/public/local")
        assert await page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == expected
        await context.close()


async def test_home_with_twenty_posts_weighs_under_40_kb(chromium: Any, world: World) -> None:
    context, page = await signed_in_page(chromium, world.base, "watcher")
    sizes: dict[str, int] = {}
    elsewhere: list[str] = []

    async def record(response: Any) -> None:
        if not response.url.startswith(world.base):
            elsewhere.append(response.url)
            return
        kind = response.request.resource_type
        if kind in ("document", "stylesheet", "script"):
            sizes[response.url] = len(await response.body())

    page.on("response", record)

    async def twenty() -> bool:
        await page.goto(world.base + "/")
        return bool(await page.locator("article").count() == 20)

    assert await wait_for(twenty)
    await page.wait_for_load_state("networkidle")
    total = sum(sizes.values())
    assert len(sizes) == 3, sizes
    assert total < 40_000, sizes
    assert elsewhere == []
    fonts = await page.evaluate("document.fonts.size")
    assert fonts == 0
    await context.close()
