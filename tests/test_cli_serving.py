"""The serving commands without a server: migrate, status, reload, upgrade, backfill, and their guards."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from starling import cli
from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.config import Settings, get_settings
from starling.db_migrate import Revision
from starling.models import Account
from starling.serving import state
from tests.conftest import MakeActor
from tests.support.processes import spawn_lookalike

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STARLING_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("STARLING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STARLING_HOST", "testserver")
    monkeypatch.setenv("STARLING_PORT", "80")
    get_settings.cache_clear()
    return tmp_path


def _run(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli.app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def fake_master() -> Iterator[int]:
    """A process that looks like a master (its command line names starling) and does nothing."""
    process = spawn_lookalike("starling-master")
    yield process.pid
    process.kill()
    process.wait()


def _pretend_a_master_runs(data_dir: Path, pid: int, revisions: list[str]) -> None:
    state.write_pid(data_dir, pid)
    state.write_status(data_dir, {"pid": pid, "state": "serving", "generation": 4, "workers": [],
                                  "jobs": None, "revisions": revisions, "last_reload": None})


async def test_migrate_status_and_upgrade_without_a_server(cli_env: Path, container: Container) -> None:
    out = await asyncio.to_thread(_run, "migrate", "--status")
    assert "applied 0001 (expand)" in out
    assert "pending" not in out
    out = await asyncio.to_thread(_run, "migrate")
    assert "database is up to date" in out
    out = await asyncio.to_thread(_run, "upgrade")
    assert "no expand migrations pending" in out and "no running server found" in out
    out = await asyncio.to_thread(_run, "status")
    assert "no running server" in out


async def test_reload_needs_a_running_server(cli_env: Path, container: Container) -> None:
    out = await asyncio.to_thread(_run, "reload", code=1)
    assert "no running Starling server" in out
    state.write_pid(cli_env, 2**22 + 12345)  # a pid file left by a server that is gone
    out = await asyncio.to_thread(_run, "reload", code=1)
    assert "missing or stale" in out


async def test_serve_refuses_a_second_master(cli_env: Path, container: Container, fake_master: int) -> None:
    _pretend_a_master_runs(cli_env, fake_master, [])
    out = await asyncio.to_thread(_run, "serve", "--no-migrate", code=1)
    assert "already runs" in out
    out = await asyncio.to_thread(_run, "status")
    assert f"master {fake_master} serving" in out and "generation 4" in out


def test_a_pid_file_naming_another_program_is_stale(cli_env: Path) -> None:
    state.write_pid(cli_env, os.getpid())  # alive, but not a Starling master
    assert state.read_pid(cli_env) is None


def test_contract_waits_for_workers_that_know_the_revision(cli_env: Path, fake_master: int) -> None:
    contract = [Revision("c900", "contract", "drop a column", "c900.py")]
    assert cli._contract_blocker(contract) is None  # no server here: the operator's word counts
    _pretend_a_master_runs(cli_env, fake_master, ["0001", "0002"])
    blocker = cli._contract_blocker(contract)
    assert blocker is not None and "c900" in blocker and "starling upgrade" in blocker
    _pretend_a_master_runs(cli_env, fake_master, ["0001", "0002", "c900"])
    assert cli._contract_blocker(contract) is None


async def test_migrate_contract_with_nothing_pending(cli_env: Path, container: Container) -> None:
    out = await asyncio.to_thread(_run, "migrate", "--contract")
    assert "database is up to date" in out


async def test_backfill_commands(cli_env: Path, container: Container, make_actor: MakeActor) -> None:
    await make_actor("dora")
    await make_actor("eve")
    async with unit_of_work(container.sessions) as session:
        await session.execute(update(Account).values(statuses_count=3, followers_count=9))
    out = await asyncio.to_thread(_run, "backfill", "--status")
    assert "account_counts: never run" in out
    out = await asyncio.to_thread(_run, "backfill", "account_counts", "--here", "--batch-size", "1")
    assert "backfill account_counts done: 2 rows visited, 2 changed" in out
    async with unit_of_work(container.sessions, write=False) as session:
        counts = set((await session.execute(select(Account.statuses_count, Account.followers_count))).all())
    assert counts == {(0, 0)}
    out = await asyncio.to_thread(_run, "backfill", "--status")
    assert "account_counts: done, 2/2 rows visited, 2 changed in 2 batches" in out
    out = await asyncio.to_thread(_run, "backfill", "nope", code=1)
    assert "no backfill named 'nope'" in out


async def test_backfill_as_jobs_without_waiting(cli_env: Path, container: Container, make_actor: MakeActor) -> None:
    await make_actor("fay")
    out = await asyncio.to_thread(_run, "backfill", "account_counts", "--no-wait")
    assert "queued" in out
    assert await container.runner.run_until_empty() == 1
    out = await asyncio.to_thread(_run, "backfill", "--status")
    assert "account_counts: done, 1/1 rows visited" in out
