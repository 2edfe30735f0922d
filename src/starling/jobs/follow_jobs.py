"""Job handlers: follows."""

from __future__ import annotations
