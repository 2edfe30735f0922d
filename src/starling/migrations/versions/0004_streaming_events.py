"""streaming event log

Expand only: one new table, ``stream_events`` (the durable log the streaming API serves and resumes
from). Code of the previous release runs unchanged on it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:30:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"

_ID = sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite')


def upgrade() -> None:
    op.create_table('stream_events',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('account_id', _ID, nullable=True),
    sa.Column('object_id', _ID, nullable=True),
    sa.Column('visibility', sa.String(length=16), nullable=True),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stream_events')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('stream_events', schema=None) as batch_op:
        batch_op.create_index('ix_stream_events_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stream_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stream_events_created_at')

    op.drop_table('stream_events')
