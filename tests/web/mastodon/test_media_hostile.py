"""Hostile uploads: each gets a clear 422 {"error"}, leaves no file behind, and the server goes on."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from starling.bootstrap import Container
from tests.conftest import MakeActor
from tests.services.media import corpus
from tests.web.mastodon.media_support import files_on_disk, png, upload

HOSTILE: dict[str, Callable[[], bytes]] = {
    "decompression-bomb": corpus.png_bomb_header,
    "truncated-jpeg": corpus.truncated_jpeg,
    "svg-as-png": lambda: corpus.SVG,
    "html-as-png": lambda: corpus.HTML,
    "json-as-png": lambda: corpus.JSON_DOC,
    "gif-js-polyglot": lambda: corpus.GIF_JS_POLYGLOT,
    "empty": lambda: b"",
    "over-size": lambda: b"\xff\xd8\xff\xe0" + b"\x00" * (16 * 1024 * 1024),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_file_through_v1_is_refused_at_once(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, name: str
) -> None:
    alice = await make_actor("alice")
    before = files_on_disk(container)
    r = await upload(client, alice, HOSTILE[name](), filename="innocent.png", version="v1", content_type="image/png")
    assert r.status_code == 422, (name, r.status_code, r.text[:200])
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    assert files_on_disk(container) == before
    # Still serving, and the account can still upload a real picture.
    ok = await upload(client, alice, png(), version="v1")
    assert ok.status_code == 200


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_file_through_v2_fails_cleanly(
    client: httpx.AsyncClient, container: Container, make_actor: MakeActor, name: str
) -> None:
    """v2 refuses what it can tell from the header at once; what only decoding reveals (a truncated
    JPEG, a polyglot) fails in the job: the medium then answers 422 and its files are gone."""
    alice = await make_actor("alice")
    before = files_on_disk(container)
    r = await upload(client, alice, HOSTILE[name](), filename="innocent.png", content_type="image/png")
    if r.status_code == 202:
        shown = await client.get(f"/api/v1/media/{r.json()['id']}", headers=alice.headers)
        assert shown.status_code == 422, (name, shown.text)
        assert shown.json()["error"]
        attach = await client.post("/api/v1/statuses", headers=alice.headers,
                                   json={"status": "x", "media_ids": [r.json()["id"]]})
        assert attach.status_code == 422
    else:
        assert r.status_code == 422, (name, r.status_code, r.text[:200])
        assert r.json()["error"]
    assert files_on_disk(container) == before


async def test_png_with_a_zip_appended_is_served_without_it(client: httpx.AsyncClient, make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await upload(client, alice, corpus.png_with_zip_appended(), version="v1")
    assert r.status_code == 200
    served = await client.get(r.json()["url"][len("http://testserver"):])
    assert served.content.startswith(b"\x89PNG")
    assert b"PK\x03\x04" not in served.content


async def test_too_large_declared_body_is_refused_before_reading(client: httpx.AsyncClient,
                                                                 make_actor: MakeActor) -> None:
    alice = await make_actor("alice")
    r = await client.post("/api/v2/media", headers={**alice.headers, "content-type": "multipart/form-data; boundary=x",
                                                    "content-length": str(500 * 1024 * 1024)}, content=b"--x--")
    assert r.status_code == 422
