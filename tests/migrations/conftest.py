"""A scratch copy of the migrations (to add revisions to) and a fresh empty database per test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from starling import db_migrate
from tests.support import databases
from tests.support.live_server import run_async


def skip_or_fail(reason: str) -> None:
    """Missing outside tooling fails the run in CI (CI=true) and skips, with the reason shown, elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(db_migrate.MIGRATIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    if databases.backend() != "postgres":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    if not run_async(databases.pg_reachable(databases.pg_admin_url())):
        skip_or_fail("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")
    name, url = run_async(databases.create_pg_database())
    try:
        yield url
    finally:
        run_async(databases.drop_pg_database(name))


def add_revision(location: Path, filename: str, source: str) -> None:
    (location / "versions" / filename).write_text(source)
