"""The job-runner process exits with an error when its runner stops by itself, so the master replaces it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from starling.bootstrap import Container, build_container
from starling.config import Settings
from starling.serving import jobs_process


def _patched(monkeypatch: pytest.MonkeyPatch, settings: Settings, run_forever: object) -> list[Container]:
    built: list[Container] = []

    def build(_ignored: Settings) -> Container:
        container = build_container(settings)
        monkeypatch.setattr(container.runner, "run_forever", run_forever)
        built.append(container)
        return container

    monkeypatch.setattr(jobs_process, "build_container", build)
    return built


async def test_a_runner_that_dies_makes_the_process_exit_with_an_error(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("the database went away while recording a failure")

    built = _patched(monkeypatch, settings, broken)
    with caplog.at_level(logging.ERROR, logger="starling.jobs"):
        code = await asyncio.wait_for(jobs_process.run_jobs(), timeout=30)
    assert code == 1
    assert len(built) == 1
    assert "the job runner stopped unexpectedly" in caplog.text
    assert "the database went away" in caplog.text


async def test_sigterm_stops_the_process_cleanly(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    started = asyncio.Event()

    async def idle() -> None:
        started.set()
        while not built[0].runner.stopping:  # noqa: ASYNC110 - the runner has no public event to wait on
            await asyncio.sleep(0.01)

    built = _patched(monkeypatch, settings, idle)
    task = asyncio.create_task(jobs_process.run_jobs())
    await asyncio.wait_for(started.wait(), timeout=30)
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, timeout=30) == 0
