"""Helpers for the media API tests: uploads, a client that does not run jobs, the files on disk."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from starling.bootstrap import Container
from starling.services.media.setup import MediaSetup, media_setup
from starling.storage import LocalMediaStorage
from starling.web.app import create_app
from tests.conftest import BASE_URL, Actor


def png(size: tuple[int, int] = (50, 50), colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def setup_of(container: Container) -> MediaSetup:
    return media_setup(container.settings)


def files_on_disk(container: Container) -> set[str]:
    """Every stored media file and every file waiting in the incoming area."""
    setup = setup_of(container)
    storage = setup.storage
    assert isinstance(storage, LocalMediaStorage)
    stored = set(storage.all_keys()) if storage.root.exists() else set()
    incoming = setup.incoming_dir
    waiting = {f"incoming/{p.name}" for p in incoming.iterdir() if p.is_file()} if incoming.exists() else set()
    work = incoming / "work"
    leftovers = {f"work/{p.name}" for p in work.iterdir()} if work.exists() else set()
    return stored | waiting | leftovers


async def upload(client: httpx.AsyncClient, actor: Actor, data: bytes, *, filename: str = "file.png",
                 version: str = "v2", content_type: str = "application/octet-stream",
                 **fields: str) -> httpx.Response:
    return await client.post(f"/api/{version}/media", headers=actor.headers,
                             files={"file": (filename, data, content_type)}, data=fields)


async def uploaded(client: httpx.AsyncClient, actor: Actor, data: bytes, **kwargs: Any) -> dict[str, Any]:
    """Upload through v2 and return the entity once processed (the test client runs jobs after writes)."""
    r = await upload(client, actor, data, **kwargs)
    assert r.status_code in (200, 202), r.text
    media_id = r.json()["id"]
    shown = await client.get(f"/api/v1/media/{media_id}", headers=actor.headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert isinstance(body, dict)
    return body


async def fetch(client: httpx.AsyncClient, url: str) -> httpx.Response:
    assert url.startswith(BASE_URL), url
    return await client.get(url[len(BASE_URL):])


async def save_served(client: httpx.AsyncClient, url: str, target: Path) -> Path:
    r = await fetch(client, url)
    assert r.status_code == 200, (url, r.status_code)
    await asyncio.to_thread(target.write_bytes, r.content)
    return target


@asynccontextmanager
async def client_without_jobs(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose writes leave their jobs queued, to see media while they are processing."""
    app = create_app(container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


def entity_keys(media: dict[str, Any]) -> set[str]:
    return set(media)
