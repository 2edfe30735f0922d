"""``starling maintenance-window`` and ``starling maintenance …`` against the test database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import update
from typer.testing import CliRunner

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.cli import app
from starling.cli_maintenance import parse_duration
from starling.config import Settings, get_settings
from starling.models import ActivityHour, User
from starling.services.maintenance import heatmap, sketch
from starling.services.maintenance.profile import slot_of
from starling.web.middleware.readonly import forget_cached_state
from tests.conftest import MakeActor

runner = CliRunner()
NOW = "2026-11-30T00:00:00Z"  # a Monday, midnight UTC


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARLING_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("STARLING_HOST", "testserver")
    monkeypatch.setenv("STARLING_PORT", "80")
    monkeypatch.setenv("COLUMNS", "160")
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _run_fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    return result.output


async def _synthetic_activity(container: Container, make_actor: MakeActor) -> None:
    """Two weeks: three people every hour, except Tuesday 03:00-05:00 UTC when nobody is there."""
    actors = [await make_actor(name) for name in ("ann", "bob", "cem")]
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(User).where(User.account_id == int(actors[0].id))
                              .values(locale="de", time_zone="Europe/Berlin"))
        sample = sketch.merge(sketch.account_hash(int(a.id)) for a in actors)
        end = datetime.fromisoformat(NOW)
        at = end - timedelta(weeks=2)
        while at < end:
            quiet = {24 + 3: 5, 24 + 4: 1}.get(slot_of(at))
            session.add(ActivityHour(
                hour_start=at, requests=100 if quiet is None else quiet, active_accounts=0 if quiet is not None else 3,
                account_sample=[] if quiet is not None else sample, updated_at=end,
            ))
            at += timedelta(hours=1)


async def test_window_plan_prints_the_best_window_and_draws_a_png(
    cli_env: None, container: Container, make_actor: MakeActor, tmp_path: Path
) -> None:
    await _synthetic_activity(container, make_actor)
    png = tmp_path / "out" / "heatmap.png"
    out = await asyncio.to_thread(
        _run, "maintenance-window", "--duration", "90m", "--weeks", "2", "--top", "3", "--png", str(png),
        "--now", NOW, "--time-zone", "Europe/Berlin",
    )
    assert "Best window: Tue 03:30 to Tue 05:00 UTC, about 0.0 affected users" in out
    assert "Next one starts 2026-12-01 03:30 UTC" in out
    assert "--starts-at 2026-12-01T03:30:00Z --ends-at 2026-12-01T05:00:00Z" in out
    assert "Tue 04:30" in out  # the start in Europe/Berlin (UTC+1 in December)
    assert "Mon  " in out and "Sun  " in out  # the heat-map rows
    assert "Active accounts by locale" in out and "de" in out
    assert "Europe/Berlin" in out
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.size == (heatmap.WIDTH, heatmap.HEIGHT)
        # Tuesday 03:00 (nobody) is paler than Tuesday 12:00 (everybody).
        quiet = image.getpixel((heatmap.LEFT + 3 * heatmap.CELL_W + 5, heatmap.TOP + heatmap.CELL_H + 12))
        busy = image.getpixel((heatmap.LEFT + 12 * heatmap.CELL_W + 5, heatmap.TOP + heatmap.CELL_H + 12))
        assert isinstance(quiet, tuple) and isinstance(busy, tuple)
        assert sum(quiet[:3]) > sum(busy[:3])


async def test_window_plan_without_data_says_so(cli_env: None, container: Container) -> None:
    out = await asyncio.to_thread(_run, "maintenance-window", "--duration", "90m")
    assert "No activity recorded yet" in out


async def test_window_plan_rejects_bad_options(cli_env: None, container: Container) -> None:
    assert "90m" in await asyncio.to_thread(_run_fails, "maintenance-window", "--duration", "soon")
    out = await asyncio.to_thread(_run_fails, "maintenance-window", "--duration", "90m", "--weeks", "99")
    assert "Weeks must be between 1 and 13" in out
    out = await asyncio.to_thread(_run_fails, "maintenance-window", "--duration", "90m", "--time-zone", "Mars/Base")
    assert "unknown time zone" in out


def test_durations() -> None:
    assert [parse_duration(t) for t in ("90m", "1h30m", "2h", "1.5h", "45", "1h 15m")] == [90, 90, 120, 90, 45, 75]


async def test_announce_list_and_end(
    cli_env: None, container: Container, client: httpx.AsyncClient
) -> None:
    out = await asyncio.to_thread(
        _run, "maintenance", "announce", "Maintenance Tuesday 03:30-05:00 UTC", "--starts-at", "2099-12-01T03:30:00Z",
        "--ends-at", "2099-12-01T05:00:00Z",
    )
    announcement_id = out.split("announcement ", 1)[1].split()[0]
    body = (await client.get("/api/v1/announcements")).json()
    assert [a["id"] for a in body] == [announcement_id]
    assert body[0]["starts_at"] == "2099-12-01T03:30:00.000Z"
    out = await asyncio.to_thread(_run, "maintenance", "announcements")
    assert announcement_id in out and "upcoming" in out
    await asyncio.to_thread(_run, "maintenance", "end", announcement_id)
    assert (await client.get("/api/v1/announcements")).json() == []
    assert "ended" in await asyncio.to_thread(_run, "maintenance", "announcements")
    assert "No announcement" in await asyncio.to_thread(_run_fails, "maintenance", "end", "123")
    out = await asyncio.to_thread(_run_fails, "maintenance", "announce", "x", "--starts-at", "2099-12-01T03:30:00Z")
    assert "both a start and an end" in out


async def test_read_only_switch(
    cli_env: None, container: Container, client: httpx.AsyncClient, make_actor: MakeActor
) -> None:
    ann = await make_actor("ann")
    out = await asyncio.to_thread(_run, "maintenance", "read-only", "on", "--message", "Moving hosts")
    assert "read-only mode is on" in out and "Moving hosts" in out
    forget_cached_state(container)
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hi"})
    assert r.status_code == 503 and r.json() == {"error": "Moving hosts"}
    assert (await client.get("/api/v1/timelines/home", headers=ann.headers)).status_code == 200
    assert "is on" in await asyncio.to_thread(_run, "maintenance", "read-only", "status")
    assert "is off" in await asyncio.to_thread(_run, "maintenance", "read-only", "off")
    forget_cached_state(container)
    r = await client.post("/api/v1/statuses", headers=ann.headers, json={"status": "hi"})
    assert r.status_code == 200
    assert "on, off or status" in await asyncio.to_thread(_run_fails, "maintenance", "read-only", "maybe")

