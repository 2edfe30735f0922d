"""Pictures of the main pages at desktop and phone widths, for the README: ``python -m tools.screenshots``.

Starts a real server on a fresh SQLite database, fills it through the web forms and the API as people
would (a verified account, a Persian-language post, a photo with alt text, a thread), then drives
Debian's Chromium with Playwright and writes PNGs to docs/screenshots/ (``--out`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.helpers import (  # noqa: E402
    PASSWORD,
    api_post,
    launch,
    missing_browser,
    sign_in,
    web_post,
    web_session,
)
from tests.support.live_server import LiveServer, start_live_server  # noqa: E402

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


def tomatoes(width: int = 800, height: int = 500) -> bytes:
    """A drawn picture of tomatoes on a vine (made here: no image files in the repository)."""
    from io import BytesIO

    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (width, height), (168, 92, 70))
    draw = ImageDraw.Draw(picture)
    for row in range(0, height, 40):
        for col in range(-(row // 40 % 2) * 40, width, 80):
            draw.rectangle((col + 2, row + 2, col + 78, row + 38), fill=(150, 78, 60))
    draw.line((0, 120, width, 140), fill=(60, 110, 50), width=10)
    for x, y, r, ripe in [(180, 230, 55, True), (300, 260, 60, True), (430, 225, 50, False),
                          (560, 270, 58, True), (660, 230, 45, False)]:
        draw.line((x, 135, x, y - r), fill=(60, 110, 50), width=6)
        colour = (200, 40, 30) if ripe else (120, 170, 60)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        shine = (240, 200, 190) if ripe else (200, 230, 170)
        draw.ellipse((x - r // 3, y - r // 2, x - r // 6, y - r // 3), fill=shine)
    out = BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


async def seed(live: LiveServer) -> dict[str, str]:
    """Accounts, posts and a thread; returns the pages to photograph."""
    base = live.base_url
    live.create_user("ada", "ada@example.org", PASSWORD, admin=True)
    live.cli("verify", "ada", "--note", "Ada Lovelace Community Garden, Leeds")
    sara = live.seed_actor("sara")
    ben = live.seed_actor("ben")
    ada = await web_session(base, "ada")
    await web_post(ada, "/settings/profile", display_name="Ada's Garden",
                   note="Growing vegetables together since 2019. #allotment",
                   field_name_0="Website", field_value_0="https://garden.example", field_name_1="Plots",
                   field_value_1="42")
    for acct in (sara, ben):
        await web_post(ada, f"/accounts/{acct.id}/follow", do="follow")
    await api_post(base, ben.token, "The first beans of the year are up! Anyone else sowing this week? #allotment")
    token = (await ada.get("/about")).text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await ada.post("/statuses", data={"csrf_token": token, "status": "Tomatoes ripening on the south wall.",
                                          "alt": "Red and green tomatoes on a vine against a brick wall",
                                          "visibility": "public"},
                       files={"media": ("tomatoes.png", tomatoes(), "image/png")})
    photo = r.headers["location"].split("#s")[-1]
    await web_post(ada, "/statuses", status="Spoilers for the harvest festival plans",
                   spoiler_text="Festival planning", visibility="public")
    reply = await api_post(base, ben.token, "@ada They look wonderful. What variety?", in_reply_to_id=photo)
    await api_post(base, sara.token, "@ben @ada Looks like Gardener's Delight to me!", in_reply_to_id=reply)
    for client_token in (ben.token, sara.token):
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {client_token}"}) as c:
            await c.post(f"/api/v1/statuses/{photo}/favourite")
    persian = await api_post(base, sara.token, "سلام! امروز هوا در تهران آفتابی است و باغ پر از گل است.",
                             language="fa")
    await web_post(ada, "/statuses/act", do=f"favourite:{persian}")
    await ada.aclose()
    await asyncio.sleep(1.0)  # the job runner delivers fan-out and notifications
    return {"home": "/", "status": f"/@ada/{photo}", "profile": "/@ada", "notifications": "/notifications",
            "local": "/public/local", "settings": "/settings/profile"}


async def shoot(live: LiveServer, pages: dict[str, str], out: Path) -> list[Path]:
    from playwright.async_api import async_playwright

    written = []
    async with async_playwright() as p:
        browser = await launch(p)
        for size, viewport in SIZES.items():
            for scheme in ("light", "dark") if size == "phone" else ("light",):
                context = await browser.new_context(viewport=viewport, color_scheme=scheme,
                                                    device_scale_factor=1)
                page: Any = await context.new_page()
                await sign_in(page, live.base_url, "ada")
                for name, path in pages.items():
                    if scheme == "dark" and name not in ("home", "status"):
                        continue
                    await page.goto(live.base_url + path)
                    await page.wait_for_load_state("networkidle")
                    target = out / f"{name}-{size}{'-dark' if scheme == 'dark' else ''}.png"
                    await page.screenshot(path=str(target), full_page=False)
                    written.append(target)
                await context.close()
        context = await browser.new_context(viewport=SIZES["phone"])
        page = await context.new_page()
        await page.goto(live.base_url + "/auth/sign_up")
        target = out / "sign-up-phone.png"
        await page.screenshot(path=str(target))
        written.append(target)
        await context.close()
        await browser.close()
    return written


async def main(out: Path) -> None:
    os.environ["STARLING_TEST_DB"] = "sqlite"
    with tempfile.TemporaryDirectory(prefix="starling-shots-") as tmp, start_live_server(Path(tmp)) as live:
        pages = await seed(live)
        for path in await shoot(live, pages, out):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    target = parser.parse_args().out
    problem = missing_browser()
    if problem is not None:
        raise SystemExit(problem)
    target.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(target))
