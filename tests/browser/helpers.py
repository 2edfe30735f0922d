"""Driving Debian's Chromium with Playwright against a live server, for the browser tests and the
screenshot script: launching, signing up and in, posting, and waiting for what the job runner does."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery"
BROWSER_DIR = Path(__file__).parent
AXE = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"


def missing_browser() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; no browser download needed)"
    if not os.path.exists(CHROMIUM):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


async def launch(playwright: Any) -> Any:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def ensure_axe() -> str | None:
    """Install axe-core from the lock file when npm is there; the reason when it cannot be had."""
    if AXE.exists():
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed, so axe-core (tests/browser/package-lock.json) cannot be installed"
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0 or not AXE.exists():
        return f"npm ci in tests/browser failed: {done.stderr[-2000:]}"
    return None


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float = 15.0, every: float = 0.2) -> bool:
    """Poll ``check`` (the job runner delivers follows and fan-out a moment after the request)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return await check()


async def sign_up(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/auth/sign_up")
    await page.fill("#username", username)
    await page.fill("#email", f"{username}@example.org")
    await page.fill("#password", PASSWORD)
    await page.fill("#password_confirmation", PASSWORD)
    await page.check("#agreement")
    await page.click("form.stack button[type=submit]")
    await page.wait_for_load_state()


async def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/auth/sign_in")
    await page.fill("#login", username)
    await page.fill("#password", password)
    await page.click("form.stack button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def post(page: Any, base: str, text: str, *, cw: str = "") -> None:
    await page.goto(f"{base}/")
    await page.fill("#status", text)
    if cw:
        await page.click("#compose summary")
        await page.fill("#spoiler_text", cw)
    await page.click("#compose button[type=submit]")
    await page.wait_for_load_state()


async def api_post(base: str, token: str, text: str, **extra: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(f"{base}/api/v1/statuses", json={"status": text, **extra},
                              headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return str(r.json()["id"])


def article(page: Any, text: str) -> Any:
    """The post (article) containing ``text``."""
    return page.locator("article", has_text=text).first


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "no form token on the page"
    return match.group(1)


async def web_session(base: str, username: str, password: str = PASSWORD) -> httpx.AsyncClient:
    """An HTTP client signed in through the sign-in form (for arranging data as a person would)."""
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = await client.get("/auth/sign_in")
    r = await client.post("/auth/sign_in", data={"csrf_token": _csrf(page.text), "login": username,
                                                 "password": password, "next": "/"})
    assert r.status_code == 303, r.text
    return client


async def web_post(client: httpx.AsyncClient, action: str, **values: str) -> httpx.Response:
    """Post a form as the signed-in person (with their session's form token)."""
    token = _csrf((await client.get("/about")).text)
    return await client.post(action, data={"csrf_token": token, **values})


def png(width: int = 120, height: int = 80) -> bytes:
    """A small picture made here (no file shipped with the tests)."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (width, height), (60, 140, 70)).save(out, format="PNG")
    return out.getvalue()
