"""The hour-of-week heat-map as a PNG (Pillow): 7 rows (Monday first) × 24 columns (UTC hours),
shaded by mean active accounts, with the proposed windows outlined and a legend."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from starling.services.maintenance.profile import DAY_NAMES, MINUTES_PER_WEEK, Profile, Window

CELL_W = 30
CELL_H = 24
LEFT = 48
TOP = 64
GRID_W = 24 * CELL_W
GRID_H = 7 * CELL_H
LEGEND_H = 76
WIDTH = LEFT + GRID_W + 24
HEIGHT = TOP + GRID_H + LEGEND_H

_STOPS = ((247, 251, 255), (158, 202, 225), (66, 146, 198), (8, 48, 107))
NO_DATA = (226, 226, 226)
BEST = (214, 39, 40)
OTHER = (255, 127, 14)
_INK = (30, 30, 40)
_MUTED = (110, 110, 128)


def shade(value: float, maximum: float) -> tuple[int, int, int]:
    """Colour of ``value`` on the scale from 0 (palest) to ``maximum`` (darkest)."""
    t = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum))
    pos = t * (len(_STOPS) - 1)
    i = min(int(pos), len(_STOPS) - 2)
    frac = pos - i
    a, b = _STOPS[i], _STOPS[i + 1]
    r, g, bl = (round(a[k] + (b[k] - a[k]) * frac) for k in range(3))
    return r, g, bl


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def window_segments(window: Window) -> list[tuple[int, float, float]]:
    """(day, first hour, last hour) pieces of a window on the grid; a window may cross midnight or
    the end of the week."""
    pieces: list[tuple[int, float, float]] = []
    start, remaining = window.start_minute, window.duration
    while remaining > 0:
        day, minute = divmod(start % MINUTES_PER_WEEK, 24 * 60)
        length = min(remaining, 24 * 60 - minute)
        pieces.append((day, minute / 60, (minute + length) / 60))
        start += length
        remaining -= length
    return pieces


def draw_heatmap(profile: Profile, windows: list[Window], path: Path, *, title: str | None = None) -> Path:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    small, normal = _font(11), _font(14)
    values = [s.active for s in profile.slots if s is not None]
    maximum = max(values, default=0.0)
    weeks = max((s.weeks for s in profile.slots if s is not None), default=0)
    heading = title or f"Active accounts per hour of the week (UTC), mean over {weeks} week{'s' * (weeks != 1)}"
    draw.text((LEFT, 10), heading, fill=_INK, font=normal)
    for hour in range(24):
        draw.text((LEFT + hour * CELL_W + CELL_W / 2, TOP - 6), f"{hour:02d}", fill=_MUTED, font=small, anchor="mb")
    for day, name in enumerate(DAY_NAMES):
        y = TOP + day * CELL_H
        draw.text((LEFT - 8, y + CELL_H / 2), name, fill=_INK, font=small, anchor="rm")
        for hour in range(24):
            slot = profile.slots[day * 24 + hour]
            x = LEFT + hour * CELL_W
            fill = NO_DATA if slot is None else shade(slot.active, maximum)
            draw.rectangle((x, y, x + CELL_W - 1, y + CELL_H - 1), fill=fill, outline="white")
    for rank, window in reversed(list(enumerate(windows))):
        colour = BEST if rank == 0 else OTHER
        for day, first, last in window_segments(window):
            y = TOP + day * CELL_H
            draw.rectangle(
                (LEFT + first * CELL_W, y + 1, LEFT + last * CELL_W - 1, y + CELL_H - 2),
                outline=colour, width=3 if rank == 0 else 2,
            )
    _legend(draw, maximum, bool(windows), small)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def _legend(draw: ImageDraw.ImageDraw, maximum: float, with_windows: bool,
            font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> None:
    y = TOP + GRID_H + 16
    bar_w = 240
    for i in range(bar_w):
        draw.line((LEFT + i, y, LEFT + i, y + 12), fill=shade(i / (bar_w - 1), 1.0))
    draw.rectangle((LEFT, y, LEFT + bar_w, y + 12), outline=_MUTED)
    draw.text((LEFT, y + 16), "0", fill=_MUTED, font=font)
    draw.text((LEFT + bar_w, y + 16), f"{maximum:.1f} active accounts", fill=_MUTED, font=font, anchor="ra")
    x = LEFT + bar_w + 24
    draw.rectangle((x, y, x + 12, y + 12), fill=NO_DATA)
    draw.text((x + 18, y), "no data", fill=_MUTED, font=font)
    if with_windows:
        x += 90
        draw.rectangle((x, y, x + 12, y + 12), outline=BEST, width=3)
        draw.text((x + 18, y), "best window", fill=_MUTED, font=font)
        x += 110
        draw.rectangle((x, y, x + 12, y + 12), outline=OTHER, width=2)
        draw.text((x + 18, y), "next best", fill=_MUTED, font=font)
