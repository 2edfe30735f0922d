"""Helpers for writing migrations that run while Starling serves (see docs/OPERATIONS.md).

PostgreSQL: every migration runs with ``lock_timeout`` (it gives up instead of queueing live traffic
behind its lock, and ``starling migrate`` retries) and ``statement_timeout`` (no migration statement
runs for minutes inside a transaction). An index on an existing table is built ``CONCURRENTLY``,
outside any transaction, so writes go on while it builds. SQLite has no such statements: the same
helpers do the plain thing there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from alembic import op
from sqlalchemy import text

LOCK_TIMEOUT = os.environ.get("STARLING_MIGRATION_LOCK_TIMEOUT", "5s")
STATEMENT_TIMEOUT = os.environ.get("STARLING_MIGRATION_STATEMENT_TIMEOUT", "60s")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def session_timeouts_sql() -> list[str]:
    return [
        f"SET lock_timeout = {_quoted(LOCK_TIMEOUT)}",
        f"SET statement_timeout = {_quoted(STATEMENT_TIMEOUT)}",
    ]


def is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _drop_invalid_index(name: str) -> None:
    """A concurrent build that failed leaves an INVALID index behind; drop it so the build can run again."""
    context = op.get_context()
    if context.as_sql:
        return
    invalid = op.get_bind().execute(
        text(
            "SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname = :name AND NOT i.indisvalid"
        ),
        {"name": name},
    ).first()
    if invalid is not None:
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def create_index_concurrently(
    index_name: str, table_name: str, columns: Sequence[str], *, unique: bool = False, **kw: Any
) -> None:
    """Create an index without blocking writes: ``CREATE INDEX CONCURRENTLY`` on PostgreSQL (outside the
    migration's transaction, without a statement timeout), a plain ``CREATE INDEX`` on SQLite.

    Safe to run again after a failure: a half-built index is dropped and the build starts over.
    """
    if not is_postgresql():
        op.create_index(index_name, table_name, list(columns), unique=unique, if_not_exists=True, **kw)
        return
    with op.get_context().autocommit_block():
        op.execute("SET statement_timeout = 0")
        _drop_invalid_index(index_name)
        op.create_index(
            index_name, table_name, list(columns), unique=unique, postgresql_concurrently=True, if_not_exists=True,
            **kw,
        )
        op.execute(f"SET statement_timeout = {_quoted(STATEMENT_TIMEOUT)}")


def drop_index_concurrently(index_name: str, table_name: str) -> None:
    """Drop an index without blocking reads and writes (a contract step: old code may rely on it)."""
    if not is_postgresql():
        op.drop_index(index_name, table_name=table_name, if_exists=True)
        return
    with op.get_context().autocommit_block():
        op.execute("SET statement_timeout = 0")
        op.drop_index(index_name, table_name=table_name, postgresql_concurrently=True, if_exists=True)
        op.execute(f"SET statement_timeout = {_quoted(STATEMENT_TIMEOUT)}")
