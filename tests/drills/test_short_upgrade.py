"""Drill 1, short: `starling upgrade` to a next commit with a migration, under load, drops nothing.

tests/serving/test_rolling_reload.py already reloads the same code under load; this one upgrades to other
code: a commit made on top of HEAD in a temporary clone adds an expand migration (a table and an index on
statuses) and an answer header. Old workers keep serving on the migrated schema, then only new ones answer.
"""

from __future__ import annotations

import pytest
from bench.drills.rolling_upgrade import run_drill

from tests.support import databases
from tests.support.live_server import require_database, run_async

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("drill-upgrade")]


def test_upgrade_to_the_next_commit_under_load(monkeypatch: pytest.MonkeyPatch) -> None:
    require_database()
    monkeypatch.setattr("bench.common.PG_ADMIN_URL", databases.pg_admin_url())
    result, checks = run_async(run_drill(databases.backend(), workers=2, warmup=3.0, after=3.0, concurrency=4))
    failed = [name for name, ok in checks.items() if not ok]
    assert failed == [], {"failed": failed, "load": result.get("load"), "upgrade": result.get("upgrade")}
    assert result["upgrade"]["migration_s"] is not None
    assert result["acknowledged_posts"] > 0 and result["unreadable_posts"] == 0
