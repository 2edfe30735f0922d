"""Composition root: the only place that builds engines, session makers and runners from settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from starling.adapters.db import create_engine, make_sessionmaker
from starling.adapters.loops import call_on
from starling.adapters.write_lane import WriteLane
from starling.config import Settings
from starling.jobs.runner import JobRunner


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    runner: JobRunner
    lane: WriteLane | None = None
    extras: dict[str, object] = field(default_factory=dict)

    def current_sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session maker of the thread this runs on: the write lane's on its thread (each event loop
        has its own connections), the process's everywhere else."""
        if self.lane is not None and self.lane.here():
            return self.lane.sessions
        return self.sessions

    async def start_jobs(self) -> asyncio.Future[None]:
        """Start the job runner: on the write lane when there is one (like every other write of the process,
        its transactions then hold SQLite's write lock no longer than the work takes), else on this event
        loop. The future returned here completes when the runner ends."""
        here = asyncio.get_running_loop()
        ended: asyncio.Future[None] = here.create_future()

        def finish() -> None:
            if not ended.done():
                ended.set_result(None)

        def start() -> None:
            self.runner.start()
            task = self.runner.task
            assert task is not None
            task.add_done_callback(lambda _task: call_on(here, finish))

        lane = self.lane
        if lane is None:
            start()
            return ended

        async def start_on_lane() -> None:
            self.runner.sessions = lane.sessions
            start()

        await lane.run(start_on_lane())
        return ended

    async def stop_jobs(self) -> None:
        """Stop the job runner where it runs; it finishes the jobs in hand."""
        lane = self.lane
        if lane is not None and lane.running and self.runner.loop is lane.loop:
            await lane.run(self.runner.stop())
        else:
            await self.runner.stop()

    async def close(self) -> None:
        await self.stop_jobs()
        if self.lane is not None:
            await self.lane.stop()
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    runner = JobRunner(sessions, poll_interval=settings.job_poll_interval,
                       lease=timedelta(seconds=settings.job_lease))
    lane = WriteLane(settings.effective_database_url) if settings.uses_write_lane else None
    return Container(settings=settings, engine=engine, sessions=sessions, runner=runner, lane=lane)
