"""Migration 0002 (announcements, activity, users.time_zone) upgrades and downgrades on the test
database's engine, keeping the rows that were there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from starling.adapters.db import create_engine
from starling.db_migrate import alembic_config
from tests.support import databases


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    if databases.backend() == "postgres":
        if not await databases.pg_reachable(databases.pg_admin_url()):
            pytest.skip("PostgreSQL is not reachable")
        name, url = await databases.create_pg_database()
        yield url
        await databases.drop_pg_database(name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"


async def _migrate(url: str, direction: str, revision: str) -> None:
    step = command.upgrade if direction == "up" else command.downgrade
    await asyncio.to_thread(step, alembic_config(url), revision)


async def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            def read(sync_conn: object) -> tuple[set[str], set[str]]:
                inspector = inspect(sync_conn)
                return set(inspector.get_table_names()), {c["name"] for c in inspector.get_columns("users")}

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def _execute(url: str, *statements: str) -> list[object]:
    engine = create_engine(url)
    results: list[object] = []
    try:
        async with engine.begin() as conn:
            for statement in statements:
                result = await conn.execute(text(statement))
                results.append(result.scalar() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return results


NEW_TABLES = {"announcements", "announcement_dismissals", "activity_hours"}
ACCOUNT = (
    "INSERT INTO accounts (id, username, username_lower, domain_key, display_name, note, note_html, fields, locked, "
    "bot, discoverable, indexable, followers_count, following_count, statuses_count, created_at, updated_at) VALUES "
    "(1, 'ann', 'ann', '', '', '', '', '[]', false, false, true, true, 0, 0, 0, '2026-01-01', '2026-01-01')"
)
USER = (
    "INSERT INTO users (id, account_id, email, password_hash, admin, approved, confirmed, locale, default_privacy, "
    "default_sensitive, created_at) VALUES (2, 1, 'ann@example.com', 'x', false, true, true, 'de', 'public', false, "
    "'2026-01-01')"
)
TOKEN = (
    "INSERT INTO oauth_tokens (id, token_hash, user_id, scopes, created_at) VALUES (3, 'h', 2, 'read', '2026-01-01')"
)


async def test_upgrade_and_downgrade_keep_existing_rows(empty_database: str) -> None:
    url = empty_database
    await _migrate(url, "up", "0001")
    tables, columns = await _schema(url)
    assert not NEW_TABLES & tables and "time_zone" not in columns
    await _execute(url, ACCOUNT, USER, TOKEN)

    await _migrate(url, "up", "0002")
    tables, columns = await _schema(url)
    assert NEW_TABLES <= tables and "time_zone" in columns
    await _execute(
        url,
        "UPDATE users SET time_zone = 'Europe/Berlin' WHERE id = 2",
        "INSERT INTO announcements (id, text, all_day, published, created_at, updated_at) "
        "VALUES (5, 'hi', false, true, '2026-01-01', '2026-01-01')",
        "INSERT INTO announcement_dismissals (account_id, announcement_id, created_at) VALUES (1, 5, '2026-01-01')",
    )

    await _migrate(url, "down", "0001")
    tables, columns = await _schema(url)
    assert not NEW_TABLES & tables and "time_zone" not in columns
    users, tokens = await _execute(url, "SELECT count(*) FROM users", "SELECT count(*) FROM oauth_tokens")
    assert (users, tokens) == (1, 1)

    await _migrate(url, "up", "0002")
    tables, _ = await _schema(url)
    assert NEW_TABLES <= tables


def test_0002_is_an_expand_migration() -> None:
    from importlib import import_module

    module = import_module("starling.migrations.versions.0002_announcements_activity")
    assert module.down_revision == "0001"
    assert module.phase == "expand"
