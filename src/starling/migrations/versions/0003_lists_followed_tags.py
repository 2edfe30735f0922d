"""lists, followed hashtags, featured hashtags

Expand only: four new tables (lists and their members, followed and featured hashtags). Code of the
previous release runs unchanged on it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
phase = "expand"

_ID = sa.BigInteger().with_variant(sa.INTEGER(), 'sqlite')


def upgrade() -> None:
    op.create_table('lists',
    sa.Column('id', _ID, autoincrement=False, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('replies_policy', sa.String(length=16), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_lists_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists'))
    )
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.create_index('ix_lists_account_id_id', ['account_id', 'id'], unique=False)

    op.create_table('list_accounts',
    sa.Column('id', _ID, autoincrement=False, nullable=False),
    sa.Column('list_id', _ID, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('follow_id', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_list_accounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['follow_id'], ['follows.id'], name=op.f('fk_list_accounts_follow_id_follows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_accounts_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_accounts')),
    sa.UniqueConstraint('list_id', 'account_id', name='uq_list_accounts_list_account')
    )
    with op.batch_alter_table('list_accounts', schema=None) as batch_op:
        batch_op.create_index('ix_list_accounts_account_id', ['account_id'], unique=False)
        batch_op.create_index('ix_list_accounts_follow_id', ['follow_id'], unique=False)

    op.create_table('tag_follows',
    sa.Column('id', _ID, autoincrement=False, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('tag_id', _ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_tag_follows_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_tag_follows_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_follows')),
    sa.UniqueConstraint('account_id', 'tag_id', name='uq_tag_follows_account_tag')
    )
    with op.batch_alter_table('tag_follows', schema=None) as batch_op:
        batch_op.create_index('ix_tag_follows_tag_id_account_id', ['tag_id', 'account_id'], unique=False)

    op.create_table('featured_tags',
    sa.Column('id', _ID, autoincrement=False, nullable=False),
    sa.Column('account_id', _ID, nullable=False),
    sa.Column('tag_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_featured_tags_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_featured_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_featured_tags')),
    sa.UniqueConstraint('account_id', 'tag_id', name='uq_featured_tags_account_tag')
    )
    with op.batch_alter_table('featured_tags', schema=None) as batch_op:
        batch_op.create_index('ix_featured_tags_tag_id', ['tag_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('featured_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_featured_tags_tag_id')

    op.drop_table('featured_tags')
    with op.batch_alter_table('tag_follows', schema=None) as batch_op:
        batch_op.drop_index('ix_tag_follows_tag_id_account_id')

    op.drop_table('tag_follows')
    with op.batch_alter_table('list_accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_list_accounts_follow_id')
        batch_op.drop_index('ix_list_accounts_account_id')

    op.drop_table('list_accounts')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_index('ix_lists_account_id_id')

    op.drop_table('lists')
