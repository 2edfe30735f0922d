"""A live server and Debian's Chromium (through Playwright) for the browser tests.

Missing tooling (the playwright package, /usr/bin/chromium, npm for axe-core) skips with the reason,
and fails the run when CI=true. Playwright never downloads a browser here: it drives the system one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import AXE, ensure_axe, launch, missing_browser
from tests.support.live_server import LiveServer, require_database, skip_or_fail, start_live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_database()
    with start_live_server(tmp_path_factory.mktemp("browser-live")) as server:
        yield server


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Any]:
    reason = missing_browser()
    if reason is not None:
        skip_or_fail(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="session")
def axe_path() -> Path:
    reason = ensure_axe()
    if reason is not None:
        skip_or_fail(reason)
    return AXE
