"""Expand and contract migrations run apart: `starling migrate` adds, `starling migrate --contract` removes."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from starling import db_migrate
from starling.adapters.db import create_engine
from starling.migrations import helpers
from tests.migrations.conftest import add_revision
from tests.support import databases

EXPAND_HEAD = sorted(db_migrate.expand_heads())[0]

EXPAND = f'''"""add accounts.scratch_note"""
import sqlalchemy as sa
from alembic import op
from starling.migrations.helpers import create_index_concurrently

revision = "0900"
down_revision = "{EXPAND_HEAD}"
branch_labels = None
depends_on = None
phase = "expand"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("scratch_note", sa.String(32), nullable=True))
    create_index_concurrently("ix_accounts_scratch_note", "accounts", ["scratch_note"])
    create_index_concurrently("ix_accounts_scratch_note", "accounts", ["scratch_note"])  # runs again harmlessly
'''

CONTRACT = '''"""drop accounts.scratch_note"""
from alembic import op
from starling.migrations.helpers import drop_index_concurrently

revision = "c900"
down_revision = None
branch_labels = ("contract",)
depends_on = "0900"
phase = "contract"


def upgrade() -> None:
    drop_index_concurrently("ix_accounts_scratch_note", "accounts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("scratch_note")
'''

LATER = '''"""add accounts.scratch_flag"""
import sqlalchemy as sa
from alembic import op

revision = "0901"
down_revision = "0900"
branch_labels = None
depends_on = None
phase = "expand"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("scratch_flag", sa.Boolean(), nullable=False, server_default=sa.false()))
'''


def _inspect(url: str, fn: Any) -> Any:
    async def main() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def _columns(url: str, table: str) -> set[str]:
    return set(_inspect(url, lambda c: {col["name"] for col in inspect(c).get_columns(table)}))


def _indexes(url: str, table: str) -> set[str]:
    return set(_inspect(url, lambda c: {ix["name"] for ix in inspect(c).get_indexes(table)}))


def _row_count(url: str, table: str) -> int:
    return int(_inspect(url, lambda c: c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()))


async def test_expand_then_contract(migrations_copy: Path, empty_database: str) -> None:
    url, loc = empty_database, migrations_copy
    await asyncio.to_thread(db_migrate.upgrade, url, "heads")  # the current release is deployed
    add_revision(loc, "0900_scratch.py", EXPAND)
    add_revision(loc, "c900_scratch.py", CONTRACT)

    pending = await asyncio.to_thread(db_migrate.pending, url, loc)
    assert [(r.revision, r.phase) for r in pending] == [("0900", "expand"), ("c900", "contract")]

    ran = await asyncio.to_thread(db_migrate.migrate_expand, url, loc)
    assert [r.revision for r in ran] == ["0900"]
    assert "scratch_note" in await asyncio.to_thread(_columns, url, "accounts")
    assert "ix_accounts_scratch_note" in await asyncio.to_thread(_indexes, url, "accounts")
    assert [r.revision for r in await asyncio.to_thread(db_migrate.pending, url, loc)] == ["c900"]
    assert await asyncio.to_thread(db_migrate.migrate_expand, url, loc) == []  # contract waits

    ran = await asyncio.to_thread(db_migrate.migrate_contract, url, loc)
    assert [r.revision for r in ran] == ["c900"]
    assert "scratch_note" not in await asyncio.to_thread(_columns, url, "accounts")
    assert "ix_accounts_scratch_note" not in await asyncio.to_thread(_indexes, url, "accounts")

    # The next release's expand migration follows on from the expand lineage.
    add_revision(loc, "0901_scratch.py", LATER)
    ran = await asyncio.to_thread(db_migrate.migrate_expand, url, loc)
    assert [r.revision for r in ran] == ["0901"]
    assert "scratch_flag" in await asyncio.to_thread(_columns, url, "accounts")
    assert await asyncio.to_thread(db_migrate.pending, url, loc) == []


async def test_contract_rebuild_on_sqlite_keeps_rows_that_refer_to_the_table(
    migrations_copy: Path, empty_database: str
) -> None:
    """A batch rebuild of ``accounts`` drops and re-creates it: foreign keys must not cascade meanwhile."""
    url, loc = empty_database, migrations_copy
    await asyncio.to_thread(db_migrate.upgrade, url, "heads")

    def seed(conn: Connection) -> None:
        conn.execute(text(
            "INSERT INTO accounts (id, username, username_lower, domain_key, display_name, note, note_html, fields, "
            "locked, bot, discoverable, indexable, followers_count, following_count, statuses_count, created_at, "
            "updated_at) VALUES (1, 'a', 'a', '', '', '', '', '[]', false, false, true, true, 0, 0, 0, "
            "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))
        conn.execute(text(
            "INSERT INTO statuses (id, account_id, local, text, content, spoiler_text, sensitive, visibility, "
            "has_media, replies_count, reblogs_count, favourites_count, created_at) "
            "VALUES (10, 1, true, 't', 't', '', false, 'public', false, 0, 0, 0, CURRENT_TIMESTAMP)"
        ))
        conn.commit()

    await asyncio.to_thread(_inspect, url, seed)
    add_revision(loc, "0900_scratch.py", EXPAND)
    add_revision(loc, "c900_scratch.py", CONTRACT)
    await asyncio.to_thread(db_migrate.migrate_contract, url, loc)
    assert await asyncio.to_thread(_row_count, url, "statuses") == 1


async def test_a_fresh_database_gets_everything(migrations_copy: Path, empty_database: str) -> None:
    add_revision(migrations_copy, "0900_scratch.py", EXPAND)
    add_revision(migrations_copy, "c900_scratch.py", CONTRACT)
    ran = await asyncio.to_thread(db_migrate.migrate_expand, empty_database, migrations_copy)
    assert [r.revision for r in ran][-2:] == ["0900", "c900"]
    assert await asyncio.to_thread(db_migrate.pending, empty_database, migrations_copy) == []


TIMEOUTS = f'''"""record the session's timeouts"""
from alembic import op

revision = "0900"
down_revision = "{EXPAND_HEAD}"
branch_labels = None
depends_on = None
phase = "expand"


def upgrade() -> None:
    op.execute(
        "CREATE TABLE scratch_timeouts AS SELECT current_setting('lock_timeout') AS lock_timeout, "
        "current_setting('statement_timeout') AS statement_timeout"
    )
'''


@pytest.mark.postgres
async def test_postgres_migrations_run_with_timeouts(migrations_copy: Path, empty_database: str) -> None:
    if databases.backend() != "postgres":
        pytest.skip("PostgreSQL only: SQLite has no lock or statement timeouts")
    add_revision(migrations_copy, "0900_timeouts.py", TIMEOUTS)
    await asyncio.to_thread(db_migrate.upgrade, empty_database, "heads", location=migrations_copy)
    row = await asyncio.to_thread(
        _inspect, empty_database,
        lambda c: tuple(c.execute(text("SELECT lock_timeout, statement_timeout FROM scratch_timeouts")).one()),
    )
    assert row == ("5s", "1min")


def _hold_lock(url: str, seconds: float, locked: threading.Event) -> None:
    async def main() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                await asyncio.sleep(seconds)
                await conn.rollback()
        finally:
            await engine.dispose()

    asyncio.run(main())


@pytest.mark.postgres
async def test_postgres_migration_gives_up_on_a_held_lock_and_retries(
    migrations_copy: Path, empty_database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if databases.backend() != "postgres":
        pytest.skip("PostgreSQL only")
    url = empty_database
    await asyncio.to_thread(db_migrate.upgrade, url, "heads")
    add_revision(migrations_copy, "0900_scratch.py", EXPAND)
    monkeypatch.setattr(helpers, "LOCK_TIMEOUT", "200ms")
    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(url, 1.0, locked))
    holder.start()
    assert await asyncio.to_thread(locked.wait, 30)
    with caplog.at_level(logging.WARNING, logger="starling.migrate"):
        await asyncio.to_thread(db_migrate.upgrade, url, "heads", location=migrations_copy)
    holder.join()
    assert "scratch_note" in await asyncio.to_thread(_columns, url, "accounts")
    # The first attempt gave up on the lock instead of queueing behind it; a retry went through.
    assert any("waited too long for a lock" in r.getMessage() for r in caplog.records)


def test_lock_timeout_detection() -> None:
    class PgError(Exception):
        sqlstate = "55P03"

    wrapped = RuntimeError("outer")
    wrapped.__cause__ = PgError()
    assert db_migrate._is_lock_timeout(wrapped)
    assert not db_migrate._is_lock_timeout(RuntimeError("something else"))
