"""Alembic environment: runs migrations on the database from Starling's settings.

Each revision runs in its own transaction (so a retry after a lock timeout resumes where it stopped,
and ``autocommit_block`` works for concurrent index builds). PostgreSQL sessions get ``lock_timeout``
and ``statement_timeout`` (``migrations/helpers.py``). On SQLite, write transactions start with
``BEGIN IMMEDIATE`` and foreign keys are off while tables are rebuilt (a batch rebuild drops and
re-creates a table: with enforcement on, that would cascade into the rows that refer to it); they are
checked once the migrations are done.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from starling.adapters import db
from starling.config import get_settings
from starling.migrations.helpers import session_timeouts_sql
from starling.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url


def _sqlite_pragma(connection: Connection, statement: str) -> list[Any]:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    else:
        for statement in session_timeouts_sql():
            connection.exec_driver_sql(statement)
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if is_sqlite:
        broken = _sqlite_pragma(connection, "PRAGMA foreign_key_check")
        _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"migrations left rows that break foreign keys: {broken[:5]}")


async def _main() -> None:
    engine = db.create_engine(_url())
    token = db._write_intent.set(True)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
    finally:
        db._write_intent.reset(token)
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_main())
