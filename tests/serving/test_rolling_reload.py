"""Rolling reload of a real `starling serve --workers 2` under continuous load (a short drill 1).

Requests (posts and reads, on keep-alive connections) run the whole time; the server is reloaded with
`starling reload` twice and with SIGHUP once. Not one request may fail, every worker and the job runner
must be new processes afterwards, and every acknowledged post must be readable.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from starling.serving import state
from starling.serving.loadprobe import LoadProbe
from tests.support import databases
from tests.support.live_server import LiveServer, LiveServerError, run_async, start_live_server

pytestmark = pytest.mark.server

SERVER_ENV = {"STARLING_WORKERS": "2", "STARLING_DRAIN_TIMEOUT": "10", "STARLING_START_TIMEOUT": "45"}


def _require_database() -> None:
    if databases.backend() == "postgres" and not run_async(databases.pg_reachable(databases.pg_admin_url())):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")
        pytest.skip("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _require_database()
    tmp = tmp_path_factory.mktemp("reload")
    (tmp / "hooks").mkdir()
    env = {**SERVER_ENV, "PYTHONPATH": str(tmp / "hooks")}
    try:
        with start_live_server(tmp, extra_env=env, start_timeout=60) as live:
            _wait_serving(live)
            yield live
    except LiveServerError as exc:
        pytest.fail(f"live server: {exc}")


def _status(server: LiveServer) -> dict[str, Any]:
    found = state.read_status(server.data_dir)
    assert found is not None, "the master wrote no status file"
    return found


def _wait_serving(server: LiveServer) -> dict[str, Any]:
    def serving() -> dict[str, Any] | None:
        status = state.read_status(server.data_dir)
        return status if status and status["state"] == "serving" else None

    found: dict[str, Any] = _wait_for(serving)
    return found


def _pids(status: dict[str, Any]) -> set[int]:
    pids = {w["pid"] for w in status["workers"]}
    if status.get("jobs"):
        pids.add(status["jobs"]["pid"])
    return pids


def _wait_for(check: Any, limit: float = 90.0) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {limit} s")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_reload_under_load_drops_nothing(server: LiveServer) -> None:
    actor = server.seed_actor("reloader")
    before = _status(server)
    assert before["state"] == "serving" and len(before["workers"]) == 2
    assert before["job_runner"] == "process" and before["jobs"]
    assert state.read_pid(server.data_dir) == server.process.pid

    probe = LoadProbe(server.base_url, concurrency=4, token=actor.token).start()
    _wait_for(lambda: probe.count() > 20)
    generations = [before["generation"]]
    seen = _pids(before)
    for _ in range(2):
        done = server.cli("reload")
        assert "reloaded: generation" in done.stdout, done.stdout
        status = _status(server)
        generations.append(status["generation"])
        assert not _pids(status) & seen, "a process survived the reload"
        assert not any(_alive(pid) for pid in seen), "an old process is still running"
        seen |= _pids(status)
        mark = probe.count()
        _wait_for(lambda mark=mark: probe.count() > mark + 20)  # the new workers serve

    os.kill(server.process.pid, signal.SIGHUP)
    def reloaded() -> dict[str, Any] | None:
        status = _status(server)
        done = status["generation"] == generations[-1] + 1 and status["state"] == "serving"
        return status if done else None

    third = _wait_for(reloaded)
    assert not _pids(third) & seen
    assert third["last_reload"]["ok"] is True
    mark = probe.count()
    _wait_for(lambda: probe.count() > mark + 20)
    summary = probe.stop()

    assert generations == [1, 2, 3]
    assert summary.failed == 0, summary.as_dict()
    assert summary.posted_ids, "no post was acknowledged during the test"
    with server.client(actor.token) as client:
        missing = [i for i in summary.posted_ids if client.get(f"/api/v1/statuses/{i}").status_code != 200]
    assert missing == []


def test_a_release_that_cannot_start_is_not_rolled_out(server: LiveServer) -> None:
    hook_dir = Path(server.env["PYTHONPATH"].split(os.pathsep)[0])
    before = _status(server)
    probe = LoadProbe(server.base_url, concurrency=2).start()
    # The next workers die at start, as with code that fails to import.
    (hook_dir / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if os.environ.get('STARLING_GENERATION') and 'starling.serving.worker' in sys.orig_argv:\n"
        "    sys.exit(3)\n"
    )
    try:
        failed = server.cli("reload", check=False)
    finally:
        (hook_dir / "sitecustomize.py").unlink()
    assert failed.returncode == 1
    assert "reload failed, the running workers were kept" in failed.stdout
    after = _status(server)
    assert after["generation"] == before["generation"]
    assert _pids(after) == _pids(before)
    assert after["last_reload"]["ok"] is False
    mark = probe.count()
    _wait_for(lambda: probe.count() > mark + 10)
    summary = probe.stop()
    assert summary.failed == 0, summary.as_dict()

    upgraded = server.cli("upgrade").stdout  # fixed on disk: the next upgrade goes through
    assert "no expand migrations pending" in upgraded and "reloaded: generation" in upgraded


def test_a_worker_that_dies_is_replaced(server: LiveServer) -> None:
    before = _status(server)
    victim = before["workers"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    def replaced() -> dict[str, Any] | None:
        status = _status(server)
        return status if victim not in {w["pid"] for w in status["workers"]} else None

    after = _wait_for(replaced)
    assert len(after["workers"]) == 2
    assert httpx.get(f"{server.base_url}/api/v1/instance", timeout=10).status_code == 200


def test_reload_without_a_server_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env["STARLING_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "starling.cli", "reload"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "no running Starling server" in done.stdout


def test_sigterm_stops_everything(tmp_path: Path) -> None:
    _require_database()
    with start_live_server(tmp_path, extra_env={"STARLING_DRAIN_TIMEOUT": "5"}) as live:
        status = _wait_serving(live)
        children = _pids(status)
        # One worker (the default of `make run`): the job runner runs inside it, no process of its own.
        assert len(status["workers"]) == 1 and status["jobs"] is None and status["job_runner"] == "worker"
        os.kill(live.process.pid, signal.SIGTERM)
        assert live.process.wait(timeout=30) == 0
        assert not any(_alive(pid) for pid in children)
        assert state.read_pid(live.data_dir) is None
        assert _status(live)["state"] == "stopped"


def test_killing_the_master_leaves_no_orphan(tmp_path: Path) -> None:
    """kill -9 of the master: its workers stop too, so a new `starling serve` can take the port."""
    _require_database()
    with start_live_server(tmp_path, extra_env={"STARLING_DRAIN_TIMEOUT": "5"}) as live:
        children = _pids(_wait_serving(live)) | {w["pid"] for w in _status(live)["workers"]}
        os.kill(live.process.pid, signal.SIGKILL)
        live.process.wait(timeout=10)
        _wait_for(lambda: not any(_alive(pid) for pid in children), 30)
        assert state.read_pid(live.data_dir) is None  # the pid file is stale: a new server may start
