"""The previous release's code runs on the schema this code's expand migrations leave.

That is the promise behind `starling upgrade`: expand migrations run while the old workers still
serve, so those workers must keep working on the new schema until the reload replaces them.

"The previous release" is the code just before the newest schema change: HEAD when the working tree
changes src/starling/migrations, otherwise the parent of the last commit that changed it (HEAD~1 when
no commit did); a commit whose code does not even import (a snapshot taken half-way through a change)
is no release, so its parent is tried instead. Its files are taken with ``git archive`` (no change to
the checkout), a fresh database
gets the current expand migrations, and the old code's server (``PYTHONPATH=<old>/src``, same
virtualenv) runs against it while a short session goes through HTTP: register an app and two
accounts, post, follow, read the home timeline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from starling import db_migrate
from tests.support.live_server import free_port

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = "src/starling/migrations"
T = TypeVar("T")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"git {' '.join(args)} failed")
    return done.stdout.strip()


def previous_release() -> str:
    """The commit whose code is the previous release (see the module's docstring)."""
    if _git("status", "--porcelain", "--", MIGRATIONS):
        return _git("rev-parse", "HEAD")
    last = _git("log", "-1", "--format=%H", "--", MIGRATIONS)
    with contextlib.suppress(RuntimeError):
        return _git("rev-parse", f"{last}^" if last else "HEAD~1")
    return _git("rev-parse", "HEAD~1")


def _imports(old_src: Path, env: dict[str, str]) -> bool:
    done = subprocess.run([sys.executable, "-c", "import starling.cli, starling.web.asgi"],
                          env={**env, "PYTHONPATH": str(old_src)}, cwd=old_src, capture_output=True, timeout=120)
    return done.returncode == 0


def _runnable_release(start: str, tmp: Path, env: dict[str, str], tries: int = 10) -> tuple[str, Path]:
    commit = start
    for n in range(tries):
        old_src = _export(commit, tmp / f"old{n}")
        if (old_src / "starling" / "cli.py").exists() and _imports(old_src, env):
            return commit, old_src
        try:
            commit = _git("rev-parse", f"{commit}^")
        except RuntimeError:
            break
    raise AssertionError(f"no commit from {start[:10]} back that imports")


def _export(commit: str, target: Path) -> Path:
    archive = target.with_suffix(".tar")
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"], stdout=out, check=True,
                       timeout=120)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def _eventually(check: Callable[[], T | None], limit: float = 30.0) -> T:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {limit} s")


@contextlib.contextmanager
def _old_server(old_src: Path, env: dict[str, str], log_path: Path, base: str) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "starling.cli", "serve", "--no-migrate"], cwd=old_src.parent, env=env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        def answering() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"old server exited: {log_path.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{base}/api/v1/instance", timeout=2).status_code == 200
            return False

        _eventually(answering, 60)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert 200 <= response.status_code < 300, f"{response.request.method} {response.request.url}: " \
        f"{response.status_code} {response.text[:500]}"
    data: dict[str, Any] = response.json() if response.content else {}
    return data


def _register(client: httpx.Client, app_token: str, username: str) -> str:
    data = _ok(client.post(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {app_token}"},
        json={"username": username, "email": f"{username}@example.com", "password": "correct horse battery",
              "agreement": True, "locale": "en"},
    ))
    return str(data["access_token"])


def _smoke(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        app = _ok(client.post("/api/v1/apps", json={
            "client_name": "previous release", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow",
        }))
        app_token = _ok(client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write follow",
        }))["access_token"]
        ann = {"Authorization": f"Bearer {_register(client, app_token, 'ann')}"}
        bob = {"Authorization": f"Bearer {_register(client, app_token, 'bob')}"}
        ann_id = _ok(client.get("/api/v1/accounts/verify_credentials", headers=ann))["id"]
        assert _ok(client.post(f"/api/v1/accounts/{ann_id}/follow", headers=bob))["following"] is True
        posted = _ok(client.post("/api/v1/statuses", headers=ann, json={"status": "still here after the upgrade"}))
        _ok(client.get(f"/api/v1/statuses/{posted['id']}", headers=bob))

        def in_home() -> bool:
            timeline = client.get("/api/v1/timelines/home", headers=bob)
            return any(s["id"] == posted["id"] for s in _ok(timeline))  # type: ignore[attr-defined]

        _eventually(in_home)
        _ok(client.get("/api/v1/timelines/public", headers=ann))


def test_previous_release_runs_on_the_new_schema(tmp_path: Path, empty_database: str) -> None:
    try:
        shallow = _git("rev-parse", "--is-shallow-repository") == "true"
        commit = previous_release()
    except (RuntimeError, OSError) as exc:
        _skip_or_fail(f"needs a git checkout with history: {exc}")
        return
    if shallow:
        _skip_or_fail("needs a git checkout with history (this clone is shallow)")

    db_migrate.upgrade(empty_database, f"{db_migrate.EXPAND}@head")  # the current release's expand step
    assert all(r.phase == db_migrate.CONTRACT for r in db_migrate.pending(empty_database))

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_") and k != "PYTHONPATH"}
    commit, old_src = _runnable_release(commit, tmp_path, env)
    print(f"previous release: {commit}")
    env.update({
        "PYTHONPATH": str(old_src), "STARLING_HOST": "127.0.0.1", "STARLING_PORT": str(port),
        "STARLING_DATA_DIR": str(data_dir), "STARLING_DATABASE_URL": empty_database,
        "STARLING_LOG_LEVEL": "warning", "STARLING_JOB_POLL_INTERVAL": "0.05",
        "STARLING_SECRET_KEY": "previous-release-test-secret-0123456789abcdef",
    })
    found = subprocess.run([sys.executable, "-c", "import starling; print(starling.__file__)"], env=env,
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert Path(found.stdout.strip()).is_relative_to(old_src), f"the old code is not the one imported: {found}"

    with _old_server(old_src, env, tmp_path / "old-server.log", base):
        _smoke(base)
