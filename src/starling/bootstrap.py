"""Composition root: the only place that builds engines, session makers and runners from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from starling.adapters.db import create_engine, make_sessionmaker
from starling.config import Settings
from starling.jobs.runner import JobRunner


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    runner: JobRunner
    extras: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.runner.stop()
        await self.engine.dispose()


def build_container(settings: Settings) -> Container:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    runner = JobRunner(sessions, poll_interval=settings.job_poll_interval,
                       lease=timedelta(seconds=settings.job_lease))
    return Container(settings=settings, engine=engine, sessions=sessions, runner=runner)
