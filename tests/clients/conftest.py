"""Fixtures for tests that drive a real server process with real Mastodon clients."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import databases
from tests.support.live_server import LiveServer, LiveServerError, run_async, start_live_server


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def skip_or_fail(reason: str) -> None:
    """Missing outside tooling fails the run in CI and skips, with the reason shown, elsewhere."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def require_database() -> None:
    if databases.backend() == "postgres" and not run_async(databases.pg_reachable(databases.pg_admin_url())):
        skip_or_fail("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_database()
    try:
        with start_live_server(tmp_path_factory.mktemp("live")) as server:
            yield server
    except LiveServerError as exc:
        pytest.fail(f"live server: {exc}")
