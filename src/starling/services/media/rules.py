"""Checks on what a client may say about a medium: alt text and focal point."""

from __future__ import annotations

import math

from starling.domain.errors import Unprocessable


def check_description(description: str | None, limit: int) -> str | None:
    if description is None:
        return None
    if len(description) > limit:
        raise Unprocessable(f"Validation failed: Description is too long (maximum is {limit} characters)",
                            field="description")
    return description


def parse_focus(focus: str | tuple[float, float] | None) -> tuple[float, float] | None:
    """``"x,y"`` (each from -1.0 to 1.0, as Mastodon's focal points are) into a pair; None when not given."""
    if focus is None or focus == "":
        return None
    if isinstance(focus, tuple):
        x, y = focus
    else:
        parts = focus.split(",")
        if len(parts) != 2:
            raise Unprocessable("Validation failed: focus must be two numbers, x,y", field="focus")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise Unprocessable("Validation failed: focus must be two numbers, x,y", field="focus") from None
    if not (math.isfinite(x) and math.isfinite(y)) or not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise Unprocessable("Validation failed: focus values must be between -1.0 and 1.0", field="focus")
    return round(x, 2), round(y, 2)
