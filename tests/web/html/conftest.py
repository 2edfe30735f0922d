"""Browsers for the web pages: each its own cookie jar, all on one in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from starling.bootstrap import Container
from starling.web.app import create_app
from tests.conftest import BASE_URL
from tests.web.html.pages import PASSWORD, WebUser, sign_in

SignIn = Callable[[str], Awaitable[WebUser]]


@pytest.fixture
async def browser(container: Container) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    app = create_app(container=container)
    opened: list[httpx.AsyncClient] = []

    async def run_jobs(response: httpx.Response) -> None:
        if response.request.method != "GET":
            await container.runner.run_until_empty()

    def make() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                              event_hooks={"response": [run_jobs]})
        opened.append(c)
        return c

    yield make
    for c in opened:
        await c.aclose()


@pytest.fixture
def signed_in(browser: Callable[[], httpx.AsyncClient]) -> SignIn:
    async def open_as(username: str) -> WebUser:
        c = browser()
        r = await sign_in(c, (await c.get("/auth/sign_in")).text, username, PASSWORD)
        assert r.status_code == 303, r.text
        return WebUser(client=c, username=username)

    return open_as
