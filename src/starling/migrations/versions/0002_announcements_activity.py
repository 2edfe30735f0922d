"""announcements, activity per hour, users.time_zone

Expand only: two new tables for announcements and their dismissals, one for the server's activity
per hour, and a nullable ``users.time_zone``. Code of the previous release runs unchanged on it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"

_ID = sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite')


def upgrade() -> None:
    op.create_table('announcements',
    sa.Column('id', _ID, autoincrement=False, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('all_day', sa.Boolean(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index('ix_announcements_published_ends_at', ['published', 'ends_at'], unique=False)

    op.create_table('announcement_dismissals',
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('announcement_id', _ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_announcement_dismissals_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcements.id'], name=op.f('fk_announcement_dismissals_announcement_id_announcements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'announcement_id', name=op.f('pk_announcement_dismissals'))
    )
    with op.batch_alter_table('announcement_dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_dismissals_announcement_id'), ['announcement_id'], unique=False)

    op.create_table('activity_hours',
    sa.Column('hour_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('active_accounts', sa.Integer(), nullable=False),
    sa.Column('account_sample', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hour_start', name=op.f('pk_activity_hours'))
    )

    op.add_column('users', sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Not a batch rebuild on SQLite: dropping and re-creating ``users`` would cascade into every table
    # that refers to it. SQLite drops a plain column in place since 3.35.
    op.execute('ALTER TABLE users DROP COLUMN time_zone')

    op.drop_table('activity_hours')
    with op.batch_alter_table('announcement_dismissals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_dismissals_announcement_id'))

    op.drop_table('announcement_dismissals')
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_published_ends_at')

    op.drop_table('announcements')
