"""``starling maintenance-window`` and ``starling maintenance …``: plan the rare work that needs a
window, tell people about it, and keep the server readable while it happens."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from starling.config import get_settings
from starling.domain.errors import StarlingError
from starling.services.maintenance.profile import (
    DAY_NAMES,
    UNKNOWN,
    Profile,
    Window,
    active_total,
    group_totals,
    minute_label,
    next_start,
)

maintenance_app = typer.Typer(
    help="Announcements, read-only mode (plan a window with `starling maintenance-window`).", no_args_is_help=True
)
console = Console()
T = TypeVar("T")

_SHADES = " ░▒▓█"
_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+)m?)?$")


def _run(fn: Callable[[AsyncSession], Awaitable[T]], *, write: bool = True) -> T:
    from starling.adapters.db import unit_of_work
    from starling.bootstrap import build_container

    async def main() -> T:
        container = build_container(get_settings())
        try:
            async with unit_of_work(container.sessions, write=write) as session:
                return await fn(session)
        finally:
            await container.engine.dispose()

    try:
        return asyncio.run(main())
    except StarlingError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def parse_duration(text: str) -> int:
    """Minutes from ``90m``, ``1h30m``, ``2h``, ``1.5h`` or a plain number of minutes."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or match is None or not (match.group("h") or match.group("m")):
        raise typer.BadParameter("use minutes and hours, e.g. 90m, 1h30m or 2h")
    minutes = float(match.group("h") or 0) * 60 + int(match.group("m") or 0)
    if minutes != int(minutes) or minutes <= 0:
        raise typer.BadParameter("the duration must be a positive whole number of minutes")
    return int(minutes)


def _parse_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{name} must be an ISO 8601 time, e.g. 2026-12-08T03:30:00Z") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


def _top(groups: dict[str, float], n: int = 3) -> str:
    known = sorted(((v, k) for k, v in groups.items() if v >= 0.05), key=lambda p: (-p[0], p[1]))[:n]
    return ", ".join(f"{k} {v:.1f}" for v, k in known) or "—"


def _local_label(minute: int, zone: ZoneInfo, reference: datetime) -> str:
    at = next_start(reference, minute).astimezone(zone)
    return f"{DAY_NAMES[at.weekday()]} {at:%H:%M}"


def _windows_table(plan_windows: list[Window], zone: ZoneInfo | None, now: datetime) -> Table:
    table = Table(title=None, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("start (UTC)", no_wrap=True)
    table.add_column("end (UTC)", no_wrap=True)
    if zone is not None:
        table.add_column(f"start ({zone.key})", no_wrap=True)
    table.add_column("affected users", justify="right", no_wrap=True)
    table.add_column("requests", justify="right")
    table.add_column("posts", justify="right")
    table.add_column("most affected locales")
    with_zones = any(k != UNKNOWN for w in plan_windows for k in w.by_time_zone)
    if with_zones:
        table.add_column("time zones")
    for rank, w in enumerate(plan_windows, 1):
        row = [str(rank), minute_label(w.start_minute), minute_label(w.end_minute)]
        if zone is not None:
            row.append(_local_label(w.start_minute, zone, now))
        row += [f"{w.affected:.1f}", f"{w.requests:.0f}", f"{w.posts:.1f}", _top(w.by_locale)]
        if with_zones:
            row.append(_top({k: v for k, v in w.by_time_zone.items() if k != UNKNOWN}))
        table.add_row(*row)
    return table


def heatmap_text(profile: Profile) -> Text:
    """7 rows × 24 columns shaded by mean active accounts (colour, and characters without colour)."""
    from starling.services.maintenance.heatmap import shade

    values = [s.active for s in profile.slots if s is not None]
    maximum = max(values, default=0.0)
    text = Text()
    text.append("     " + "".join(f"{h:02d} " for h in range(24)) + "\n", style="dim")
    for day, name in enumerate(DAY_NAMES):
        text.append(f"{name}  ")
        for hour in range(24):
            slot = profile.slots[day * 24 + hour]
            if slot is None:
                text.append("·· ", style="dim")
                continue
            level = 0 if maximum <= 0 else min(len(_SHADES) - 1, round(slot.active / maximum * (len(_SHADES) - 1)))
            if slot.active > 0:
                level = max(level, 1)
            r, g, b = shade(slot.active, maximum)
            text.append(_SHADES[level] * 2, style=f"rgb({r},{g},{b}) on rgb({r},{g},{b})" if level else "")
            text.append(" ")
        text.append("\n")
    text.append(f"     legend: '{_SHADES[1]}' few … '{_SHADES[-1]}' {maximum:.1f} active accounts (mean per hour); "
                "'··' no data yet", style="dim")
    return text


def _print_groups(profile: Profile) -> None:
    locales = group_totals(profile, "locale")
    total = sum(locales.values()) or 1.0
    table = Table(title="Active accounts by locale")
    table.add_column("locale")
    table.add_column("share", justify="right")
    table.add_column("busiest hour (UTC)", no_wrap=True)
    for locale, value in sorted(locales.items(), key=lambda p: (-p[1], p[0]))[:8]:
        busiest = max(
            (i for i, s in enumerate(profile.slots) if s is not None),
            key=lambda i: (profile.slots[i].by_locale.get(locale, 0.0), -i),  # type: ignore[union-attr]
        )
        table.add_row(locale, f"{value / total:.0%}", minute_label(busiest * 60))
    console.print(table)
    zones = {k: v for k, v in group_totals(profile, "time_zone").items() if k != UNKNOWN}
    if zones:
        console.print("Time zones given: " + _top(zones, 8) + " (active accounts)")
    else:
        console.print("[dim]No active account has a time zone set; grouped by locale only.[/dim]")


def maintenance_window(
    duration: Annotated[str, typer.Option("--duration", "-d", help="Length of the window: 90m, 1h30m, 2h")],
    weeks: Annotated[int, typer.Option(help="Weeks of activity to read (1-13)")] = 4,
    top: Annotated[int, typer.Option(help="How many windows to propose")] = 5,
    step: Annotated[int, typer.Option(help="Start times every 30 or 60 minutes")] = 30,
    png: Annotated[Path | None, typer.Option(help="Also draw the heat-map into this PNG file")] = None,
    time_zone: Annotated[
        str | None, typer.Option("--time-zone", help="Also show start times in this zone (IANA name)")
    ] = None,
    now: Annotated[str | None, typer.Option(hidden=True, help="Plan as if it were this time (ISO 8601)")] = None,
) -> None:
    """Propose the maintenance windows that disturb the fewest active people, with a heat-map."""
    from starling.services.maintenance.heatmap import draw_heatmap
    from starling.services.maintenance.plan_window import plan_maintenance_window

    minutes = parse_duration(duration)
    zone = _zone(time_zone)
    at = _parse_time(now, "--now") or datetime.now(UTC)
    plan = _run(lambda s: plan_maintenance_window(s, now=at, duration=minutes, weeks=weeks, top=top, step=step),
                write=False)
    profile = plan.profile
    if profile.empty or profile.observed_from is None:
        console.print(
            f"No activity recorded yet in the last {weeks} week{'s' * (weeks != 1)}: no requests were counted and "
            "no local posts were made, so there is nothing to plan from. Keep the server running (it records "
            "its activity every minute) and ask again in a few days."
        )
        return
    observed_hours = int((profile.end - profile.observed_from).total_seconds() // 3600)
    console.print(
        f"Activity from {profile.observed_from:%Y-%m-%d %H:%M} to {profile.end:%Y-%m-%d %H:%M} UTC "
        f"({observed_hours} hours): {profile.requests_total} requests, {profile.posts_total} posts, "
        f"about {active_total(profile):.0f} active accounts."
    )
    if profile.observed_slots < 168:
        console.print(f"[yellow]Only {profile.observed_slots} of the 168 hours of the week have been observed; "
                      "windows are proposed only where there is data.[/yellow]")
    if not plan.windows:
        console.print(f"Not enough observed time yet for a {minutes}-minute window.")
    else:
        console.print(f"\n[bold]Best windows of {minutes} minutes[/bold] (expected per week; fewest people first):")
        console.print(_windows_table(plan.windows, zone, at))
        best = plan.windows[0]
        start = next_start(at, best.start_minute)
        end = start + timedelta(minutes=minutes)
        console.print(
            f"Best window: [bold]{minute_label(best.start_minute)}[/bold] to {minute_label(best.end_minute)} UTC, "
            f"about {best.affected:.1f} affected users (mean of {best.weeks} week{'s' * (best.weeks != 1)}).\n"
            f"Next one starts {start:%Y-%m-%d %H:%M} UTC. Announce it with:\n"
            f"  starling maintenance announce \"Maintenance: …\" --starts-at {start:%Y-%m-%dT%H:%M:%SZ} "
            f"--ends-at {end:%Y-%m-%dT%H:%M:%SZ}",
            soft_wrap=True,  # a command to copy must never be broken over lines
        )
    console.print("\n[bold]Active accounts per hour of the week (UTC)[/bold]")
    console.print(heatmap_text(profile))
    _print_groups(profile)
    if png is not None:
        draw_heatmap(profile, plan.windows, png)
        console.print(f"heat-map written to {png}")


@maintenance_app.command()
def announce(
    text: Annotated[str, typer.Argument(help="What to tell everyone (plain text; links are linked)")],
    starts_at: Annotated[str | None, typer.Option(help="When it starts (ISO 8601, UTC unless a zone is given)")] = None,
    ends_at: Annotated[str | None, typer.Option(help="When it ends; the banner is shown until then")] = None,
    all_day: Annotated[bool, typer.Option("--all-day", help="Show dates only, not times")] = False,
) -> None:
    """Announce something to everyone: the web banner and /api/v1/announcements."""
    from starling.services.maintenance.create_announcement import AnnouncementDraft, create_announcement

    draft = AnnouncementDraft(text=text, starts_at=_parse_time(starts_at, "--starts-at"),
                              ends_at=_parse_time(ends_at, "--ends-at"), all_day=all_day)

    async def create(session: AsyncSession) -> int:
        return (await create_announcement(session, draft)).id

    announcement_id = _run(create)
    console.print(f"announcement {announcement_id} published")


def _state(published: bool, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> str:
    if not published:
        return "ended"
    if ends_at is not None and ends_at <= now:
        return "over"
    if starts_at is not None and starts_at > now:
        return "upcoming"
    return "live"


@maintenance_app.command("announcements")
def list_announcements() -> None:
    """List every announcement, newest first."""
    from starling.services.maintenance.list_announcements import all_announcements

    rows = _run(all_announcements, write=False)
    if not rows:
        console.print("no announcements")
        return
    now = datetime.now(UTC)
    table = Table()
    for name in ("id", "state", "starts (UTC)", "ends (UTC)", "text"):
        table.add_column(name, no_wrap=name == "id", min_width=19 if name == "id" else None, overflow="fold")
    for a in rows:
        table.add_row(
            str(a.id), _state(a.published, a.starts_at, a.ends_at, now),
            f"{a.starts_at:%Y-%m-%d %H:%M}" if a.starts_at else "—",
            f"{a.ends_at:%Y-%m-%d %H:%M}" if a.ends_at else "—",
            a.text if len(a.text) <= 80 else a.text[:79] + "…",
        )
    console.print(table)


@maintenance_app.command()
def end(announcement_id: Annotated[str, typer.Argument(help="The announcement's id")]) -> None:
    """Take an announcement down."""
    from starling.domain.ids import parse_id
    from starling.services.maintenance.end_announcement import end_announcement

    parsed = parse_id(announcement_id)
    if parsed is None:
        _fail(f"No announcement {announcement_id}")
        return

    async def run(session: AsyncSession) -> None:
        await end_announcement(session, parsed)

    _run(run)
    console.print(f"announcement {parsed} ended")


@maintenance_app.command("read-only")
def read_only(
    switch: Annotated[str, typer.Argument(help="on, off or status")],
    message: Annotated[str | None, typer.Option(help="What refused writers are told")] = None,
    retry_after: Annotated[
        int | None, typer.Option(help="Seconds clients are told to wait before trying again (default 300)")
    ] = None,
) -> None:
    """Keep every page and timeline readable while writes are refused with a clear message."""
    from starling.services.maintenance.read_only import CACHE_NOTE, read_only_state, set_read_only

    choice = switch.strip().lower()
    if choice not in ("on", "off", "status"):
        _fail("say on, off or status")
    if choice == "status":
        state = _run(read_only_state, write=False)
    else:
        state = _run(lambda s: set_read_only(s, choice == "on", message=message, retry_after=retry_after))
    if state.enabled:
        source = " (forced by STARLING_READ_ONLY)" if state.forced_by_environment else ""
        console.print(f"read-only mode is [bold]on[/bold]{source}: writes are refused with “{state.message}”")
    else:
        console.print("read-only mode is [bold]off[/bold]: writes are accepted")
    if choice != "status":
        console.print(CACHE_NOTE)
