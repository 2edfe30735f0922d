from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container, build_container
from starling.config import Settings
from starling.domain.ids import new_id
from starling.metrics import observe_job_done
from starling.models import Job
from starling.models.base import utcnow
from starling.web.app import create_app
from starling.web.health import migration_heads, schema_is_current, set_draining
from tests.conftest import BASE_URL


@pytest.fixture
def not_draining() -> Iterator[None]:
    set_draining(False)
    yield
    set_draining(False)


@pytest.fixture
async def broken_container(tmp_path: Path) -> AsyncIterator[Container]:
    """A server whose database is a port where nothing listens."""
    settings = Settings(
        host="testserver",
        port=80,
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://postgres@127.0.0.1:9/nothing",
        run_jobs_in_server=False,
        ready_timeout=2.0,
    )
    c = build_container(settings)
    yield c
    await c.close()


async def test_live_answers_ok(client: httpx.AsyncClient) -> None:
    r = await client.get("/health/live")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"


async def test_ready_when_the_database_answers_and_is_migrated(client: httpx.AsyncClient, not_draining: None) -> None:
    r = await client.get("/health/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": "ok", "migrations": "ok"}


async def test_not_ready_while_draining(client: httpx.AsyncClient, not_draining: None) -> None:
    set_draining()
    r = await client.get("/health/ready")
    assert r.status_code == 503
    assert r.json() == {"status": "draining"}
    assert (await client.get("/health/live")).status_code == 200


async def test_not_ready_when_the_database_is_unreachable(broken_container: Container, not_draining: None) -> None:
    app = create_app(container=broken_container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        r = await c.get("/health/ready")
        assert r.status_code == 503
        assert r.json()["status"] == "unavailable"
        assert r.json()["database"] in ("unreachable", "timeout")
        assert (await c.get("/health/live")).status_code == 200
        # Metrics still answer, and say the database could not be read.
        m = await c.get("/metrics")
        assert m.status_code == 200
        assert "starling_database_up 0.0" in m.text


def test_schema_is_current_at_head_or_ahead_but_not_behind() -> None:
    heads = set(migration_heads())
    assert schema_is_current(heads)
    assert schema_is_current({"a_revision_from_a_newer_release"})
    assert not schema_is_current(set())


async def test_metrics_exposition_names_every_metric(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/instance")
    await client.get("/api/v1/statuses/123")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    for name in (
        "starling_http_requests_total",
        "starling_http_request_duration_seconds_bucket",
        "starling_http_requests_in_flight",
        "starling_admission_in_flight",
        "starling_admission_queued",
        "starling_requests_shed_total",
        "starling_stale_responses_total",
        "starling_rate_limited_total",
        "starling_job_latency_seconds",
        "starling_jobs",
        "starling_job_oldest_due_age_seconds",
        "starling_database_up",
        "starling_draining",
    ):
        assert f"\n{name}" in r.text or f"# TYPE {name} " in r.text, name
    # Labelled by route template, never by raw path.
    assert 'route="/api/v1/statuses/{status_id}"' in r.text
    assert "/api/v1/statuses/123" not in r.text


async def test_job_queue_depth_and_age_are_read_at_scrape_time(
    client: httpx.AsyncClient, container: Container
) -> None:
    now = utcnow()
    async with unit_of_work(container.sessions) as session:
        for run_at, failed in ((now - timedelta(seconds=90), False), (now, False), (now + timedelta(hours=1), False),
                               (now, True)):
            session.add(
                Job(id=new_id(), kind="test_kind", payload={}, run_at=run_at, attempts=0, max_attempts=3,
                    created_at=run_at, failed_at=now if failed else None)
            )
    text = (await client.get("/metrics")).text
    lines = [line.split(" ") for line in text.splitlines() if line.startswith("starling_")]
    samples = {name: float(value) for name, value in lines}
    assert samples['starling_jobs{state="due"}'] == 2
    assert samples['starling_jobs{state="scheduled"}'] == 1
    assert samples['starling_jobs{state="failed"}'] == 1
    assert samples["starling_job_oldest_due_age_seconds"] >= 90
    assert samples["starling_database_up"] == 1


async def test_job_latency_is_recorded_by_kind(client: httpx.AsyncClient) -> None:
    now = utcnow()
    observe_job_done("fan_out_status", now - timedelta(seconds=2), now)
    text = (await client.get("/metrics")).text
    assert 'starling_job_latency_seconds_count{kind="fan_out_status"}' in text
    assert 'starling_job_latency_seconds_bucket{kind="fan_out_status",le="2.5"}' in text


async def test_metrics_can_be_turned_off(container: Container) -> None:
    app = create_app(container.settings.model_copy(update={"metrics_enabled": False}), container=container)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        assert (await c.get("/metrics")).status_code == 404
