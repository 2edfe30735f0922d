"""The service API other parts of the server use (the HTML pages upload through it): upload,
processing by the job (and again, idempotently), failures, the sweep of stale uploads."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.domain.errors import Unprocessable
from starling.models import Job, MediaAttachment
from starling.models.base import utcnow
from starling.services.media.cleanup import sweep_unattached_media
from starling.services.media.setup import media_setup
from starling.services.media.source import UploadSource
from starling.services.media.upload_media import upload_media
from tests.conftest import MakeActor
from tests.web.mastodon.media_support import files_on_disk


def _png(size: tuple[int, int] = (30, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (9, 99, 199)).save(out, "PNG")
    return out.getvalue()


async def _upload(container: Container, account_id: int, source: UploadSource, **kwargs: object) -> MediaAttachment:
    async with unit_of_work(container.sessions) as session:
        return await upload_media(session, account_id, source, setup=media_setup(container.settings),
                                  **kwargs)  # type: ignore[arg-type]


async def _row(container: Container, media_id: int) -> MediaAttachment | None:
    async with unit_of_work(container.sessions, write=False) as session:
        return await session.get(MediaAttachment, media_id)


async def test_upload_from_bytes_path_and_stream(container: Container, make_actor: MakeActor,
                                                 tmp_path: Path) -> None:
    alice = int((await make_actor("alice")).id)
    path = tmp_path / "p.png"
    path.write_bytes(_png())
    sources = [UploadSource.from_bytes(_png(), "a.png"), UploadSource.from_path(path),
               UploadSource(stream=io.BytesIO(_png()), filename="s.png")]
    for source in sources:
        media = await _upload(container, alice, source, description="Alt", focus="0.1,0.2")
        assert media.processing == "queued" and media.file_path is None
        await container.runner.run_until_empty()
        row = await _row(container, media.id)
        assert row is not None and row.processing == "done"
        assert row.description == "Alt" and (row.focus_x, row.focus_y) == (0.1, 0.2)
        assert row.meta["original"]["size"] == "30x20"
        assert media_setup(container.settings).storage.exists(row.file_path or "")


async def test_process_now_and_failed_uploads_leave_nothing(container: Container, make_actor: MakeActor) -> None:
    alice = int((await make_actor("alice")).id)
    before = files_on_disk(container)
    media = await _upload(container, alice, UploadSource.from_bytes(_png()), process_now=True)
    assert media.processing == "done" and media.file_path and media.preview_path
    after = files_on_disk(container)
    assert len(after - before) == 2
    with pytest.raises(Unprocessable):
        await _upload(container, alice, UploadSource.from_bytes(b"GIF89a" + b"\xff" * 10), process_now=True)
    with pytest.raises(Unprocessable):
        await _upload(container, alice, UploadSource.from_bytes(_png()), focus="3,3")
    with pytest.raises(Unprocessable):
        await _upload(container, alice, UploadSource.from_bytes(_png()), description="x" * 1501)
    assert files_on_disk(container) == after


async def test_processing_twice_writes_the_same_result(container: Container, make_actor: MakeActor) -> None:
    """A job rerun after a crash (its lease ran out) finds the upload done and changes nothing."""
    from starling.jobs.media_jobs import process_media_job

    alice = int((await make_actor("alice")).id)
    media = await _upload(container, alice, UploadSource.from_bytes(_png()))
    async with unit_of_work(container.sessions, write=False) as session:
        job = (await session.execute(select(Job).where(Job.kind == "process_media"))).scalar_one()
        payload = dict(job.payload)
    await container.runner.run_until_empty()
    first = await _row(container, media.id)
    before = files_on_disk(container)
    async with unit_of_work(container.sessions) as session:
        await process_media_job(session, payload)
    await container.runner.run_until_empty()
    again = await _row(container, media.id)
    assert first is not None and again is not None
    assert (again.file_path, again.preview_path, again.meta) == (first.file_path, first.preview_path, first.meta)
    assert files_on_disk(container) == before


async def test_sweep_removes_stale_unattached_uploads_only(container: Container, make_actor: MakeActor) -> None:
    alice = int((await make_actor("alice")).id)
    old = await _upload(container, alice, UploadSource.from_bytes(_png()), process_now=True)
    fresh = await _upload(container, alice, UploadSource.from_bytes(_png()), process_now=True)
    released = await _upload(container, alice, UploadSource.from_bytes(_png()), process_now=True)
    async with unit_of_work(container.sessions) as session:
        for media_id, created, detached in ((old.id, 2, None), (released.id, 3, 0)):
            row = await session.get(MediaAttachment, media_id)
            assert row is not None
            row.created_at = utcnow() - timedelta(days=created)
            row.detached_at = None if detached is None else utcnow() - timedelta(hours=1)
    storage = media_setup(container.settings).storage
    old_files = [old.file_path, old.preview_path]
    async with unit_of_work(container.sessions) as session:
        assert await sweep_unattached_media(session) == 1
    await container.runner.run_until_empty()
    assert await _row(container, old.id) is None
    assert not any(storage.exists(k or "") for k in old_files)
    assert await _row(container, fresh.id) is not None
    assert await _row(container, released.id) is not None  # released an hour ago: kept for a redraft
    async with unit_of_work(container.sessions) as session:
        assert await sweep_unattached_media(session, now=utcnow() + timedelta(days=2)) == 2


async def test_every_upload_schedules_a_sweep_a_day_later(container: Container, make_actor: MakeActor) -> None:
    alice = int((await make_actor("alice")).id)
    await _upload(container, alice, UploadSource.from_bytes(_png()), process_now=True)
    async with unit_of_work(container.sessions, write=False) as session:
        run_at = await session.scalar(select(func.min(Job.run_at)).where(Job.kind == "sweep_unattached_media"))
    assert run_at is not None and run_at > utcnow() + timedelta(hours=23)


async def test_a_second_runner_finishing_late_keeps_the_files_in_use(container: Container,
                                                                      make_actor: MakeActor) -> None:
    """Two runners processed the same upload (a lease ran out): the later one must not delete the
    files the earlier one recorded, which have the same keys."""
    from starling.services.media import process_media

    alice = int((await make_actor("alice")).id)
    media = await _upload(container, alice, UploadSource.from_bytes(_png()))
    async with unit_of_work(container.sessions, write=False) as session:
        job = (await session.execute(select(Job).where(Job.kind == "process_media"))).scalar_one()
        token = str(job.payload["token"])
    setup = media_setup(container.settings)
    async with unit_of_work(container.sessions, write=False) as session:
        pending = await process_media.media_to_process(session, media.id, token)
    assert pending is not None
    late = await process_media.run_processing(setup, pending)
    await container.runner.run_until_empty()  # the "first" runner finishes and records
    async with unit_of_work(container.sessions) as session:
        assert not isinstance(late, Unprocessable)
        await process_media.record_processed(session, pending, late)
    await container.runner.run_until_empty()
    row = await _row(container, media.id)
    assert row is not None and row.file_path and row.preview_path
    assert setup.storage.exists(row.file_path) and setup.storage.exists(row.preview_path)
