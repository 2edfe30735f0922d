"""Drill 2, short: SIGKILL the server and the job runner under load; nothing acknowledged is lost.

Two kills of every server process at once and three of a separate `starling worker`, at random moments
of a posting, favouriting and following load. The job lease is shortened to 2 s in the processes that
run jobs (the full drill keeps the real 60 s), so the jobs a killed runner held come back within the test.
"""

from __future__ import annotations

import pytest
from bench.drills.crash import run_drill

from tests.support import databases
from tests.support.live_server import require_database, run_async

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("drill-crash")]


def test_kill_9_under_load_loses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    require_database()
    monkeypatch.setattr("bench.common.PG_ADMIN_URL", databases.pg_admin_url())
    result, checks = run_async(run_drill(databases.backend(), kills=2, runner_kills=3, workers=1, concurrency=4,
                                         min_gap=0.3, max_gap=1.5, lease_s=2.0, drain_limit=45.0, seed=7))
    failed = [name for name, ok in checks.items() if not ok]
    assert failed == [], {"failed": failed, **{k: result.get(k) for k in (
        "missing", "home_feeds", "notifications", "jobs", "acknowledged")}}
    assert result["posts_in_database"] >= result["acknowledged"]["posts"] > 0
