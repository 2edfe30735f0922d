"""Job handlers: statuss."""

from __future__ import annotations
