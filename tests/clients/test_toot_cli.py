"""The ``toot`` command-line client, run as a separate program against a real server process.

toot keeps its login in ``$XDG_CONFIG_HOME/toot/config.json`` and state in ``$XDG_CACHE_HOME``; each test module
gets its own directories, so nothing of the developer's own configuration is read or written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support.live_server import LiveServer, skip_or_fail

pytestmark = [pytest.mark.server, pytest.mark.xdist_group("clients-toot-cli")]

T = TypeVar("T")
PASSWORD = "toot's long password 1234"
POSTED = re.compile(r"Toot posted: (\S+)/@(\w+)/(\d+)")


def toot_executable() -> str:
    beside = Path(sys.executable).parent / "toot"
    return str(beside) if beside.exists() else shutil.which("toot") or ""


class Toot:
    def __init__(self, state_dir: Path) -> None:
        self.executable = toot_executable()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "STARLING_"))}
        self.env.update({"XDG_CONFIG_HOME": str(state_dir / "config"), "XDG_CACHE_HOME": str(state_dir / "cache"),
                         "NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"})

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.executable, "--no-color", *args], env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)
        if ok:
            assert done.returncode == 0, (
                f"toot {' '.join(args)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done


def eventually(check: Callable[[], T], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@pytest.fixture(scope="module")
def toot(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Toot:
    if not toot_executable():
        skip_or_fail("the toot client is not installed (it is in the dev dependencies)")
    live_server.create_user("tina", "tina@example.com", PASSWORD)
    client = Toot(tmp_path_factory.mktemp("toot-state"))
    done = client.run("login_cli", "--instance", live_server.base_url, "--email", "tina@example.com",
                      "--password", PASSWORD)
    assert "Successfully logged in" in done.stdout
    return client


def post(toot: Toot, *args: str) -> str:
    done = toot.run("post", *args)
    match = POSTED.search(done.stdout)
    assert match, done.stdout
    assert match.group(2) == "tina"
    return match.group(3)


def test_login_is_saved_in_config(toot: Toot, live_server: LiveServer) -> None:
    done = toot.run("auth")
    assert "tina@" in done.stdout
    assert "ACTIVE" in done.stdout


def test_whoami(toot: Toot) -> None:
    assert "@tina" in toot.run("whoami").stdout


def test_instance(toot: Toot) -> None:
    out = toot.run("instance").stdout
    assert "running Mastodon" in out


def test_post_and_read_back(toot: Toot) -> None:
    text = f"Hello from toot {uuid.uuid4().hex}"
    status_id = post(toot, text)
    out = toot.run("status", status_id).stdout
    assert text in out
    assert status_id in out


def test_post_appears_on_home_timeline(toot: Toot) -> None:
    text = f"On my home timeline {uuid.uuid4().hex}"
    status_id = post(toot, text)

    def shown() -> None:
        out = toot.run("timeline", "--once").stdout
        assert text in out, out
        assert status_id in out

    eventually(shown)


def test_public_timeline(toot: Toot) -> None:
    text = f"For everyone {uuid.uuid4().hex}"
    status_id = post(toot, text)
    out = toot.run("timeline", "--public", "--once").stdout
    assert text in out
    assert status_id in out


def test_thread_shows_reply_under_original(toot: Toot) -> None:
    first = f"Thread start {uuid.uuid4().hex}"
    second = f"Thread reply {uuid.uuid4().hex}"
    first_id = post(toot, first)
    second_id = post(toot, "--reply-to", first_id, second)
    out = toot.run("thread", first_id).stdout
    parts = [p.strip() for p in re.split(r"─+", out) if p.strip()]
    assert len(parts) == 2, out
    assert first in parts[0] and first_id in parts[0]
    assert second in parts[1] and second_id in parts[1]


def test_delete(toot: Toot) -> None:
    status_id = post(toot, "short-lived")
    assert "Status deleted" in toot.run("delete", status_id).stdout
    gone = toot.run("status", status_id, ok=False)
    assert gone.returncode != 0
