"""A real Starling server process for end-to-end tests.

``start_live_server`` migrates a fresh database (a SQLite file, or a new PostgreSQL database when
``STARLING_TEST_DB=postgres``), starts ``starling serve --no-migrate`` on a free port, waits until it
answers HTTP, and stops it with SIGTERM (then SIGKILL) when the block ends. The server's output goes
to a log file whose tail is shown when it fails to start.

Accounts can be made through the CLI (``LiveServer.create_user``) or written straight into the
server's database together with an access token (``LiveServer.seed_actor``), for tests that must not
depend on the OAuth endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support import databases

T = TypeVar("T")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class LiveServerError(RuntimeError):
    pass


def skip_or_fail(reason: str) -> None:
    """Missing outside tooling fails the run in CI (CI=true) and skips, with the reason shown, elsewhere."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_database() -> None:
    if databases.backend() == "postgres" and not run_async(databases.pg_reachable(databases.pg_admin_url())):
        skip_or_fail("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop in another thread (safe inside pytest-asyncio)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


@dataclass
class Actor:
    """An account written straight into the server's database, with a token holding ``scopes``."""

    id: str
    username: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class LiveServer:
    base_url: str
    port: int
    env: dict[str, str]
    data_dir: Path
    log_path: Path
    database_url: str
    process: subprocess.Popen[bytes]

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``starling <args>`` against this server's database and settings."""
        done = subprocess.run(
            [sys.executable, "-m", "starling.cli", *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )
        if check and done.returncode != 0:
            raise LiveServerError(
                f"starling {' '.join(args)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def create_user(self, username: str, email: str, password: str, *, admin: bool = False) -> None:
        args = ["create-user", username, "--email", email, "--password", password]
        self.cli(*([*args, "--admin"] if admin else args))

    def seed_actor(
        self, username: str, *, password: str = "correct horse battery", scopes: str = "read write follow push",
        locked: bool = False,
    ) -> Actor:
        """Create an approved account and an access token directly in the database."""
        email = f"{username}@example.com"
        account_id, token = run_async(_seed_actor(self.database_url, self.data_dir, username, email, password,
                                                  scopes, locked))
        return Actor(id=account_id, username=username, email=email, password=password, token=token)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, **kwargs)


async def _seed_actor(
    database_url: str, data_dir: Path, username: str, email: str, password: str, scopes: str, locked: bool
) -> tuple[str, str]:
    from starling.adapters.db import unit_of_work
    from starling.bootstrap import build_container
    from starling.config import Settings
    from starling.domain.ids import new_id
    from starling.models import Application
    from starling.models.base import utcnow
    from starling.services.accounts.register_account import NewAccount, register_account
    from starling.services.oauth.issue_token import issue_token

    container = build_container(Settings(database_url=database_url, data_dir=data_dir, run_jobs_in_server=False))
    try:
        async with unit_of_work(container.sessions) as session:
            account, user = await register_account(
                session, NewAccount(username=username, email=email, password=password, allow_reserved=True)
            )
            account.locked = locked
            app = Application(
                id=new_id(), name="live-server tests", website=None, redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                scopes=scopes, client_id=f"cid-{new_id()}", client_secret=f"secret-{new_id()}",
                created_at=utcnow(),
            )
            session.add(app)
            await session.flush()
            _, raw = await issue_token(session, application_id=app.id, user_id=user.id, scopes=scopes.split())
            return str(account.id), raw
    finally:
        await container.engine.dispose()


def _server_env(port: int, data_dir: Path, database_url: str, domain: str | None,
                extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update({
        "STARLING_HOST": "127.0.0.1",
        "STARLING_PORT": str(port),
        "STARLING_DATA_DIR": str(data_dir),
        "STARLING_DATABASE_URL": database_url,
        "STARLING_LOG_LEVEL": "warning",
        "STARLING_JOB_POLL_INTERVAL": "0.05",
        "STARLING_SECRET_KEY": "live-server-test-secret-key-0123456789abcdef",
        "PYTHONUNBUFFERED": "1",
    })
    if domain:
        env["STARLING_DOMAIN"] = domain
    env.update(extra or {})
    return env


@contextlib.contextmanager
def _database(tmp: Path) -> Iterator[str]:
    if databases.backend() != "postgres":
        yield f"sqlite+aiosqlite:///{tmp / 'starling.db'}"
        return
    if not run_async(databases.pg_reachable(databases.pg_admin_url())):
        raise LiveServerError("PostgreSQL is not reachable (STARLING_TEST_DB=postgres)")
    name, url = run_async(databases.create_pg_database())
    try:
        yield url
    finally:
        run_async(databases.drop_pg_database(name))


def _wait_until_answering(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LiveServerError(
                f"server exited with code {server.process.returncode} before answering\n{server.log_tail()}"
            )
        try:
            httpx.get(f"{server.base_url}/api/v1/instance", timeout=2)
            return
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.1)
    raise LiveServerError(f"server did not answer within {timeout:.0f} s ({last_error})\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def start_live_server(
    tmp: Path,
    *,
    port: int | None = None,
    domain: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    start_timeout: float = START_TIMEOUT,
) -> Iterator[LiveServer]:
    """Migrate a fresh database, serve it on ``port`` (a free one by default) and yield the server."""
    tmp.mkdir(parents=True, exist_ok=True)
    data_dir = tmp / "data"
    data_dir.mkdir(exist_ok=True)
    port = port or free_port()
    with _database(tmp) as database_url:
        env = _server_env(port, data_dir, database_url, domain, extra_env)
        migrated = subprocess.run(
            [sys.executable, "-m", "starling.cli", "migrate"], env=env, capture_output=True, text=True, timeout=120
        )
        if migrated.returncode != 0:
            raise LiveServerError(f"starling migrate failed:\n{migrated.stdout}\n{migrated.stderr}")
        log_path = tmp / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "starling.cli", "serve", "--no-migrate"],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        server = LiveServer(
            base_url=f"http://127.0.0.1:{port}", port=port, env=env, data_dir=data_dir, log_path=log_path,
            database_url=database_url, process=process,
        )
        try:
            _wait_until_answering(server, start_timeout)
            yield server
        finally:
            _stop(process)
