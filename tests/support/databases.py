"""Test databases: a fresh SQLite file or a fresh PostgreSQL database per test process."""

from __future__ import annotations

import os
import uuid

import asyncpg

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get("STARLING_TEST_PG_URL", DEFAULT_PG)


async def pg_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def backend() -> str:
    return os.environ.get("STARLING_TEST_DB", "sqlite")


async def create_pg_database() -> tuple[str, str]:
    """Create an empty database; returns (its name, its SQLAlchemy URL)."""
    name = f"starling_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(pg_admin_url())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = pg_admin_url().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(pg_admin_url())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
