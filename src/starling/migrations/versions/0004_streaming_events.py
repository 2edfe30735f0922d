"""streaming event log (filled in by the streaming work)

Expand only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
