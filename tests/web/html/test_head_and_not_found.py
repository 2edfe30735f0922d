"""Pages answer HEAD like GET, and a browser at an unknown address gets the HTML error page while the
API keeps Mastodon's JSON errors."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MakeActor
from tests.web.html.conftest import SignIn

pytestmark = pytest.mark.asyncio

# What a browser sends when it navigates to an address.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/public/local", "/about", "/auth/sign_in", "/@alice", "/tags/birds"])
async def test_head_answers_like_get_without_a_body(
    client: httpx.AsyncClient, make_actor: MakeActor, path: str
) -> None:
    await make_actor("alice")
    got = await client.get(path)
    head = await client.head(path)
    assert got.status_code == 200, got.text
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-type"].startswith("text/html")
    assert head.headers["content-security-policy"] == got.headers["content-security-policy"]


async def test_head_follows_a_page_redirect_and_a_missing_profile(client: httpx.AsyncClient) -> None:
    r = await client.head("/")
    assert r.status_code == 303 and r.headers["location"] == "/public/local"
    r = await client.head("/@nobody", headers=BROWSER)
    assert r.status_code == 404 and r.content == b"" and r.headers["content-type"].startswith("text/html")


async def test_head_on_the_api_is_unchanged(client: httpx.AsyncClient) -> None:
    r = await client.head("/api/v1/timelines/public")
    assert r.status_code == 405
    r = await client.head("/api/v1/streaming/web/public")  # the pages' stream is API, not a page
    assert r.status_code != 200


@pytest.mark.parametrize("path", ["/nope", "/@nobody", "/@nobody/123", "/statuses/not-a-status/extra/parts"])
async def test_unknown_page_is_the_html_error_page(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, headers=BROWSER)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text
    assert "does not exist" in r.text
    assert 'href="/"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


async def test_unknown_page_keeps_the_readers_navigation(make_actor: MakeActor, signed_in: SignIn) -> None:
    await make_actor("carol")
    web = await signed_in("carol")
    r = await web.get("/nope", headers=BROWSER)
    assert r.status_code == 404
    assert 'action="/auth/sign_out"' in r.text  # the signed-in layout


async def test_unknown_path_is_escaped_nowhere_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/<script>alert(1)</script>", headers=BROWSER)
    assert r.status_code == 404
    assert "<script>alert(1)" not in r.text


async def test_api_and_machine_paths_keep_json_errors(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nope", "/api/v9/nope", "/.well-known/nope", "/oauth/nope"):
        r = await client.get(path, headers={"Accept": "application/json"})
        assert r.status_code in (404, 501), path  # unknown /api/ paths answer "not implemented"
        assert r.headers["content-type"].startswith("application/json"), path
        assert isinstance(r.json()["error"], str), path
    # A browser at an API address still gets the API's answer.
    for accept in ("text/html,*/*;q=0.8", "*/*"):
        r = await client.get("/api/v1/accounts/999999", headers={"Accept": accept})
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    # Programs outside the API (anything accepted, or JSON) keep the JSON error too.
    for accept in ("*/*", "application/activity+json", "application/json, text/plain;q=0.5"):
        r = await client.get("/nope", headers={"Accept": accept})
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}, accept
    # A browser at an OAuth address gets the page.
    r = await client.get("/oauth/nope", headers=BROWSER)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
