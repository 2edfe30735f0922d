"""media pipeline: processing errors and when a status let go of its media

Expand only: two nullable columns on media_attachments. Code of the previous release runs unchanged
on it (it never reads or writes them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 13:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"


def upgrade() -> None:
    op.add_column('media_attachments', sa.Column('processing_error', sa.Text(), nullable=True))
    op.add_column('media_attachments', sa.Column('detached_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.drop_column('detached_at')
        batch_op.drop_column('processing_error')
