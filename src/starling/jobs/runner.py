"""The job runner: claims due jobs with a lease, runs each in its own transaction, retries with backoff.

A job is deleted in the same transaction as its handler's writes, so its effect is applied
exactly once even if the process dies at any moment: an unfinished job's lease simply runs out and
another runner takes it. Handlers must be idempotent for effects outside the database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from starling.adapters.db import unit_of_work
from starling.adapters.loops import call_on
from starling.jobs.registry import get_handler
from starling.metrics import observe_job_done
from starling.models import Job
from starling.models.base import utcnow

log = logging.getLogger("starling.jobs")

LEASE = timedelta(seconds=60)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2 ** min(attempts, 12)))


class JobRunner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        poll_interval: float = 0.5,
        batch_size: int = 20,
        concurrency: int = 4,
        lease: timedelta = LEASE,
    ) -> None:
        self.sessions = sessions
        self.lease = lease
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run due jobs now; callable from any thread (a commit on the write lane calls it)."""
        call_on(self._loop, self._wake.set)

    async def claim(self) -> list[int]:
        now = utcnow()
        async with unit_of_work(self.sessions) as session:
            ids = list(
                (
                    await session.execute(
                        select(Job.id)
                        .where(
                            Job.run_at <= now,
                            Job.failed_at.is_(None),
                            or_(Job.locked_until.is_(None), Job.locked_until < now),
                        )
                        .order_by(Job.run_at, Job.id)
                        .limit(self.batch_size)
                    )
                ).scalars()
            )
            if not ids:
                return []
            # The lock condition is checked again by the UPDATE, so two runners never both win a job.
            claimed = (
                await session.execute(
                    update(Job)
                    .where(
                        Job.id.in_(ids),
                        or_(Job.locked_until.is_(None), Job.locked_until < now),
                    )
                    .values(locked_by=self.name, locked_until=now + self.lease)
                    .returning(Job.id)
                )
            ).scalars()
            return sorted(claimed)

    async def run_one(self, job_id: int) -> bool:
        """Run one claimed job. Returns True when it finished (or was already gone)."""
        try:
            async with unit_of_work(self.sessions) as session:
                job = await session.get(Job, job_id)
                if job is None or job.locked_by != self.name:
                    return True
                handler = get_handler(job.kind)
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                keeper = asyncio.create_task(self._keep_lease(job_id), name=f"lease-{job_id}")
                try:
                    await handler(session, dict(job.payload))
                finally:
                    keeper.cancel()
                await session.execute(delete(Job).where(Job.id == job_id))
                kind, created_at = job.kind, job.created_at
            observe_job_done(kind, created_at)
            return True
        except Exception as exc:
            log.warning("job %s failed: %s", job_id, exc)
            try:
                await self._record_failure(job_id, exc)
            except Exception:
                log.exception("recording the failure of job %s failed", job_id)
            return False

    async def _keep_lease(self, job_id: int) -> None:
        """Extend a running job's lease every third of it, so a long job (a video transcode) is not
        taken over by another runner while it still runs. Most jobs end before the first extension."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with unit_of_work(self.sessions) as session:
                    await session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.locked_by == self.name)
                        .values(locked_until=utcnow() + self.lease)
                    )
            except Exception as exc:  # the lease may run out; the job then runs again (idempotent handlers)
                log.warning("extending the lease of job %s failed: %s", job_id, exc)

    async def _record_failure(self, job_id: int, exc: Exception) -> None:
        async with unit_of_work(self.sessions) as session:
            job = await session.get(Job, job_id)
            if job is None:
                return
            job.attempts += 1
            job.last_error = "".join(traceback.format_exception_only(exc))[-2000:]
            job.locked_by = None
            job.locked_until = None
            now = utcnow()
            if job.attempts >= job.max_attempts:
                job.failed_at = now
            else:
                job.run_at = now + _backoff(job.attempts)

    async def run_until_empty(self, *, max_rounds: int = 1000) -> int:
        """Run every due job, including jobs those jobs add. Returns how many ran."""
        count = 0
        for _ in range(max_rounds):
            ids = await self.claim()
            if not ids:
                return count
            for job_id in ids:
                await self.run_one(job_id)
                count += 1
        return count

    async def run_forever(self) -> None:
        sem = asyncio.Semaphore(self.concurrency)

        async def guarded(job_id: int) -> None:
            async with sem:
                try:
                    await self.run_one(job_id)
                except Exception:
                    log.exception("running job %s failed", job_id)

        while not self._stopping:
            try:
                ids = await self.claim()
            except Exception:
                log.exception("claiming jobs failed")
                ids = []
            if ids:
                await asyncio.gather(*(guarded(i) for i in ids))
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run_forever(), name="starling-job-runner")
        self._task.add_done_callback(self._ended)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the runner was started on."""
        return self._loop

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task of :meth:`start`; a process that depends on it watches it (see ``serving.jobs_process``)."""
        return self._task

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _ended(self, task: asyncio.Task[None]) -> None:
        # Ending without stop() means no job runs any more in this process: say so at once, not only at
        # shutdown, so that it shows in the logs next to its cause.
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        log.error("the job runner stopped unexpectedly: %r", exc, exc_info=exc)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                self._task.cancel()
            except Exception:
                # Already logged by _ended when it happened; stopping must still close the rest.
                pass
