"""Backfills: long data changes done in small batches, as jobs, while the server keeps serving.

A backfill is registered by name with :func:`backfill` and processes the rows of one table in
batches of ``batch_size`` ids, in id order, each batch in its own short transaction. Rows added
after it started are not its business: the code that writes them keeps them right.

Progress lives in ``instance_settings`` under ``backfill:<name>`` and is updated in the same
transaction as the batch it describes, so after a crash the backfill resumes exactly after the last
committed batch. Each batch runs as a ``backfill_batch`` job that queues the next one in its own
transaction: the job runner's lease and retries make the chain survive a runner killed at any
moment, and a stale or duplicated job (its cursor no longer matches the recorded one) does nothing.

``starling backfill NAME`` starts (or resumes) one and shows its progress; ``--status`` shows all.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from starling.domain.ids import new_id
from starling.jobs.queue import enqueue
from starling.jobs.registry import job_handler
from starling.models import InstanceSetting, Job
from starling.models.base import utcnow

JOB_KIND = "backfill_batch"
KEY_PREFIX = "backfill:"
# Modules that register backfills (imported before any backfill is looked up).
BACKFILL_MODULES = ("starling.jobs.backfills",)

BatchFn = Callable[[AsyncSession, int, int], Awaitable[int]]


@dataclass(frozen=True)
class Backfill:
    name: str
    description: str
    id_column: InstrumentedAttribute[int]
    process: BatchFn  # (session, first id, last id) -> rows changed
    batch_size: int = 500


@dataclass
class Progress:
    name: str
    run_id: str
    state: str = "running"  # running, done
    cursor: int | None = None  # last id processed
    max_id: int | None = None  # rows up to this id (at the start) are processed
    total: int = 0  # rows to visit, counted at the start
    visited: int = 0
    changed: int = 0
    batches: int = 0
    batch_size: int = 500
    started_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_value(cls, value: Any) -> Progress | None:
        if not isinstance(value, dict):
            return None
        known = {k: v for k, v in value.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return None

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.visited / self.total) if self.total else 0.0


_REGISTRY: dict[str, Backfill] = {}


def backfill(
    name: str, *, description: str, id_column: InstrumentedAttribute[int], batch_size: int = 500
) -> Callable[[BatchFn], BatchFn]:
    """Register ``fn(session, first_id, last_id) -> rows changed`` as the backfill ``name``."""

    def register(fn: BatchFn) -> BatchFn:
        if name in _REGISTRY and _REGISTRY[name].process is not fn:
            raise RuntimeError(f"backfill {name!r} registered twice")
        _REGISTRY[name] = Backfill(name, description, id_column, fn, batch_size)
        return fn

    return register


def registered() -> dict[str, Backfill]:
    for module in BACKFILL_MODULES:
        importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def get_backfill(name: str) -> Backfill:
    found = registered().get(name)
    if found is None:
        known = ", ".join(registered()) or "none"
        raise LookupError(f"no backfill named {name!r} (known: {known})")
    return found


def state_key(name: str) -> str:
    return f"{KEY_PREFIX}{name}"


async def load_progress(session: AsyncSession, name: str, *, lock: bool = False) -> Progress | None:
    query = select(InstanceSetting).where(InstanceSetting.key == state_key(name))
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    return Progress.from_value(row.value) if row is not None else None


async def _save(session: AsyncSession, progress: Progress) -> None:
    progress.updated_at = utcnow().isoformat()
    row = await session.get(InstanceSetting, state_key(progress.name))
    if row is None:
        session.add(InstanceSetting(key=state_key(progress.name), value=asdict(progress)))
    else:
        row.value = asdict(progress)


async def all_progress(session: AsyncSession) -> dict[str, Progress]:
    rows = (
        await session.execute(select(InstanceSetting).where(InstanceSetting.key.startswith(KEY_PREFIX)))
    ).scalars()
    found: dict[str, Progress] = {}
    for row in rows:
        progress = Progress.from_value(row.value)
        if progress is not None:
            found[progress.name] = progress
    return found


async def queued_job(session: AsyncSession, name: str) -> Job | None:
    """The live (not failed) job that carries this backfill on, if any."""
    jobs = (await session.execute(select(Job).where(Job.kind == JOB_KIND, Job.failed_at.is_(None)))).scalars()
    return next((j for j in jobs if j.payload.get("name") == name), None)


async def start(
    session: AsyncSession, name: str, *, restart: bool = False, batch_size: int | None = None,
    enqueue_job: bool = True,
) -> Progress:
    """Begin a backfill, or carry on with an unfinished one (and queue its next batch if none is queued)."""
    spec = get_backfill(name)
    progress = await load_progress(session, name, lock=True)
    if progress is None or restart:
        column = spec.id_column
        max_id = await session.scalar(select(func.max(column)))
        total = int(await session.scalar(select(func.count(column))) or 0)
        now = utcnow().isoformat()
        progress = Progress(
            name=name, run_id=str(new_id()), max_id=max_id, total=total,
            batch_size=batch_size or spec.batch_size, started_at=now,
        )
        if max_id is None:
            progress.state, progress.finished_at = "done", now
        await _save(session, progress)
    elif batch_size:
        progress.batch_size = batch_size
        await _save(session, progress)
    if enqueue_job and progress.state == "running" and await queued_job(session, name) is None:
        enqueue(session, JOB_KIND, {"name": name, "run_id": progress.run_id, "cursor": progress.cursor})
    return progress


async def run_batch(
    session: AsyncSession, name: str, *, run_id: str | None = None, cursor: Any = "any"
) -> Progress | None:
    """Process the next batch in the caller's transaction. Returns the new progress, or None when there
    was nothing to do for this caller (finished, restarted meanwhile, or another batch got there first)."""
    spec = get_backfill(name)
    progress = await load_progress(session, name, lock=True)
    if progress is None or progress.state != "running":
        return None
    if run_id is not None and progress.run_id != run_id:
        return None
    if cursor != "any" and progress.cursor != cursor:
        return None
    column = spec.id_column
    query = select(column).order_by(column).limit(progress.batch_size)
    if progress.cursor is not None:
        query = query.where(column > progress.cursor)
    if progress.max_id is not None:
        query = query.where(column <= progress.max_id)
    ids = list((await session.execute(query)).scalars())
    if ids:
        progress.changed += await spec.process(session, ids[0], ids[-1])
        progress.cursor = ids[-1]
        progress.visited += len(ids)
        progress.batches += 1
    if not ids or len(ids) < progress.batch_size or ids[-1] == progress.max_id:
        progress.state = "done"
        progress.finished_at = utcnow().isoformat()
        progress.visited = max(progress.visited, progress.total) if progress.total else progress.visited
    await _save(session, progress)
    return progress


@job_handler(JOB_KIND)
async def run_backfill_batch(session: AsyncSession, payload: dict[str, Any]) -> None:
    name = str(payload["name"])
    try:
        get_backfill(name)
    except LookupError:
        return  # a backfill removed from the code: nothing left to do
    progress = await run_batch(session, name, run_id=payload.get("run_id"), cursor=payload.get("cursor"))
    if progress is not None and progress.state == "running":
        enqueue(session, JOB_KIND, {"name": name, "run_id": progress.run_id, "cursor": progress.cursor})
