"""Probes and metrics: ``/health/live``, ``/health/ready`` and ``/metrics``.

Live means the process answers. Ready means it should get traffic: the database answers a trivial
query within ``ready_timeout``, its schema is not behind this code's migrations, and the process is
not draining. A process drains from :func:`set_draining` (called by a reload before the old worker stops,
and on shutdown) until it exits, so a load balancer moves away before its connections close.

These endpoints skip admission and rate limits (see ``classify.bypasses``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response

from starling import metrics
from starling.bootstrap import Container
from starling.models.base import utcnow
from starling.repositories.operations import job_queue_stats, ping, schema_revisions
from starling.web.deps import get_container
from starling.web.responses import json_response

log = logging.getLogger("starling.health")

router = APIRouter()

_NO_STORE = {"Cache-Control": "no-store"}
# A schema found current stays current for this process: re-checked only now and then.
MIGRATION_CHECK_TTL = 60.0
_MIGRATIONS_OK_UNTIL = "health.migrations_ok_until"

_draining = False


def set_draining(value: bool = True) -> None:
    """From now on /health/ready answers 503: the process is about to stop taking requests."""
    global _draining
    _draining = value


def is_draining() -> bool:
    return _draining


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """Heads of the expand lineage only: a pending *contract* migration must not hold back new workers."""
    from starling import db_migrate

    return db_migrate.expand_heads()


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    from starling import db_migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(db_migrate.MIGRATIONS_DIR))
    return frozenset(s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions())


def schema_is_current(recorded: set[str]) -> bool:
    """At our head, or ahead of it (a newer release's expand migrations ran: old code keeps working)."""
    if migration_heads() <= recorded:
        return True
    return any(rev not in known_revisions() for rev in recorded)


async def check_database(container: Container) -> dict[str, str]:
    """``{"database": ..., "migrations": ...}``; every value is "ok" when ready."""
    result = {"database": "unreachable", "migrations": "unknown"}
    extras = container.extras
    until = extras.get(_MIGRATIONS_OK_UNTIL)
    check_schema = not isinstance(until, float) or until < time.monotonic()
    try:
        async with asyncio.timeout(container.settings.ready_timeout):
            async with container.engine.connect() as conn:
                await ping(conn)
                result["database"] = "ok"
                if check_schema:
                    recorded = await schema_revisions(conn)
                    current = await asyncio.to_thread(schema_is_current, recorded)
                    result["migrations"] = "ok" if current else "pending"
                    if current:
                        extras[_MIGRATIONS_OK_UNTIL] = time.monotonic() + MIGRATION_CHECK_TTL
                else:
                    result["migrations"] = "ok"
    except TimeoutError:
        if result["database"] == "unreachable":
            result["database"] = "timeout"
    except Exception as exc:  # any driver error means "not ready", never a 500
        log.debug("readiness check failed: %s", exc)
    return result


@router.get("/health/live", include_in_schema=False)
async def live() -> Response:
    return json_response({"status": "ok"}, headers=_NO_STORE)


@router.get("/health/ready", include_in_schema=False)
async def ready(request: Request) -> Response:
    if is_draining():
        return json_response({"status": "draining"}, status_code=503, headers=_NO_STORE)
    checks = await check_database(get_container(request))
    ok = all(v == "ok" for v in checks.values())
    return json_response({"status": "ok" if ok else "unavailable", **checks}, 200 if ok else 503, _NO_STORE)


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


async def _scrape_time_families(container: Container) -> list[Metric]:
    """Figures read when Prometheus asks: the job queue (one cheap aggregate) and the drain state."""
    families = [_gauge("starling_draining", "1 while this process drains before stopping.", int(is_draining()))]
    now = utcnow()
    try:
        async with asyncio.timeout(container.settings.ready_timeout):
            async with container.sessions() as session:
                stats = await job_queue_stats(session, now)
    except Exception as exc:  # metrics must still answer when the database does not
        log.debug("job queue figures unavailable: %s", exc)
        families.append(_gauge("starling_database_up", "Whether this scrape could read the database.", 0))
        return families
    families.append(_gauge("starling_database_up", "Whether this scrape could read the database.", 1))
    jobs = GaugeMetricFamily("starling_jobs", "Jobs in the queue: due now, scheduled later, failed.", labels=["state"])
    for state, value in (("due", stats.due), ("scheduled", stats.scheduled), ("failed", stats.failed)):
        jobs.add_metric([state], value)
    families.append(jobs)
    oldest = (now - stats.oldest_due_run_at).total_seconds() if stats.oldest_due_run_at else 0.0
    families.append(
        _gauge("starling_job_oldest_due_age_seconds", "How long the oldest due job has waited.", max(0.0, oldest))
    )
    return families


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request) -> Response:
    container = get_container(request)
    if not getattr(request.app.state, "metrics_enabled", container.settings.metrics_enabled):
        return json_response({"error": "Record not found"}, status_code=404)
    families = await _scrape_time_families(container)
    body = await asyncio.to_thread(metrics.render, families)
    return Response(body, media_type=metrics.CONTENT_TYPE, headers=_NO_STORE)
