"""Fixtures for tests that drive a real server process with real Mastodon clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_server import LiveServer, LiveServerError, require_database, start_live_server


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require_database()
    try:
        with start_live_server(tmp_path_factory.mktemp("live")) as server:
            yield server
    except LiveServerError as exc:
        pytest.fail(f"live server: {exc}")
