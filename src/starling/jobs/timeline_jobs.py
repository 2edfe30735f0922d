"""Job handlers: timelines."""

from __future__ import annotations
