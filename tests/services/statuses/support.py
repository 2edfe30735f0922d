"""Helpers for status tests: posting through the API and writing graph rows the API of others makes."""

from __future__ import annotations

from typing import Any

import httpx

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.ids import new_id
from starling.models import Block, Follow, MediaAttachment
from starling.models.base import utcnow
from tests.conftest import Actor


async def post(client: httpx.AsyncClient, actor: Actor, text: str = "hello", **params: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/statuses", json={"status": text, **params}, headers=actor.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def follow(container: Container, follower: Actor, target: Actor) -> None:
    async with unit_of_work(container.sessions) as session:
        session.add(Follow(id=new_id(), account_id=int(follower.id), target_account_id=int(target.id),
                           show_reblogs=True, notify=False, created_at=utcnow()))


async def block(container: Container, blocker: Actor, target: Actor) -> None:
    async with unit_of_work(container.sessions) as session:
        session.add(Block(id=new_id(), account_id=int(blocker.id), target_account_id=int(target.id),
                          created_at=utcnow()))


async def add_media(container: Container, owner: Actor, *, processing: str = "done") -> str:
    async with unit_of_work(container.sessions) as session:
        media = MediaAttachment(id=new_id(), account_id=int(owner.id), status_id=None, type="image",
                                file_path=f"{new_id()}.png", preview_path=None, meta={}, description="a picture",
                                processing=processing, position=0, created_at=utcnow())
        session.add(media)
    return str(media.id)
