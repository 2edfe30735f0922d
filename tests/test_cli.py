"""The ``starling`` command against the test database."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from starling.adapters.db import unit_of_work
from starling.bootstrap import Container
from starling.cli import app
from starling.config import Settings, get_settings
from starling.domain.errors import Unauthorized
from starling.repositories.accounts import find_by_username
from starling.web.deps import load_viewer
from starling.web.mastodon.render import to_mastodon_account
from tests.conftest import MakeActor

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STARLING_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("STARLING_HOST", "testserver")
    monkeypatch.setenv("STARLING_PORT", "80")
    get_settings.cache_clear()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _run_fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    return result.output


async def _account(container: Container, username: str) -> dict[str, object]:
    async with unit_of_work(container.sessions, write=False) as session:
        account = await find_by_username(session, username, None)
        assert account is not None
        return to_mastodon_account(account, "http://testserver")


async def test_create_user_verify_unverify(cli_env: None, container: Container) -> None:
    out = await asyncio.to_thread(_run, "create-user", "carol", "--email", "carol@example.com", "--password",
                                  "long enough pw")
    assert "created user carol" in out
    await asyncio.to_thread(_run, "verify", "carol", "--note", "Carol Example, Exampletown council")
    data = await _account(container, "carol")
    assert data["roles"] == [{"id": "100", "name": "Verified", "color": "#1d9bf0"}]
    assert data["verified"]["note"] == "Carol Example, Exampletown council"  # type: ignore[index]
    await asyncio.to_thread(_run, "unverify", "@carol@testserver")
    data = await _account(container, "carol")
    assert data["roles"] == []
    assert "verified" not in data


async def test_verify_needs_a_note_and_a_known_account(cli_env: None, container: Container) -> None:
    out = await asyncio.to_thread(_run_fails, "verify", "nobody", "--note", "x")
    assert "No account nobody" in out
    await asyncio.to_thread(_run, "create-user", "dave", "--email", "dave@example.com")
    out = await asyncio.to_thread(_run_fails, "verify", "dave", "--note", "   ")
    assert "needs a note" in out


async def test_create_user_rejects_bad_input(cli_env: None, container: Container) -> None:
    out = await asyncio.to_thread(_run_fails, "create-user", "bad name!", "--email", "x@example.com")
    assert "username" in out.lower()


async def test_suspend_revokes_tokens(cli_env: None, container: Container, make_actor: MakeActor) -> None:
    erin = await make_actor("erin")
    await asyncio.to_thread(_run, "suspend", "erin")
    async with unit_of_work(container.sessions, write=False) as session:
        account = await find_by_username(session, "erin", None)
        assert account is not None and account.suspended_at is not None
        with pytest.raises(Unauthorized, match="revoked"):
            await load_viewer(session, erin.token)
    await asyncio.to_thread(_run, "unsuspend", "erin")
    async with unit_of_work(container.sessions, write=False) as session:
        account = await find_by_username(session, "erin", None)
        assert account is not None and account.suspended_at is None
