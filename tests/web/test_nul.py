"""NUL characters are refused with 422 wherever they come in, never reaching the database."""

from __future__ import annotations

import httpx

from tests.conftest import MakeActor


async def test_nul_in_query_path_and_body_is_422(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    for method, url, kwargs in [
        ("GET", "/api/v2/search?q=a%00b", {}),
        ("GET", "/api/v1/accounts/lookup?acct=a%00", {}),
        ("GET", "/api/v1/timelines/tag/a%00b", {}),
        ("POST", "/api/v1/apps", {"json": {"client_name": "a\x00", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}}),
        ("POST", "/api/v1/statuses", {"data": {"status": "a\x00b"}}),
    ]:
        r = await client.request(method, url, headers=alice.headers, **kwargs)
        assert r.status_code == 422, (url, r.text)
        assert "NUL" in r.json()["error"]
        assert "details" in r.json()
