"""toot's own integration suite (written for a real Mastodon server) run against a real Starling process.

toot's source release is fetched from the package index at test time into ``.toot-src/`` (git-ignored,
never committed), unpacked into a temporary directory, and its ``tests/integration`` run with
``TOOT_TEST_BASE_URL`` pointing at the server. Its fixtures register fresh accounts through
``POST /api/v1/accounts`` with an app token and use the returned token at once, so the server must
accept open registrations without e-mail confirmation (the default). ``test_login_cli`` logs in at
the literal address ``http://localhost:3000``, so the server is started on port 3000 when it is free.

The test asserts that every test in the files the server fully supports passes, except for the
explicit list below (each with the reason and the feature it waits for).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.live_server import (
    LiveServer,
    LiveServerError,
    free_port,
    port_is_free,
    require_database,
    skip_or_fail,
    start_live_server,
)

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.xdist_group("clients-toot-integration")]

TOOT_VERSION = "0.52.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".toot-src"
TOOT_PORT = 3000
SUITE_TIMEOUT = 900
MAX_DETAILS = 20

# Files whose every test must pass (minus EXPECTED_FAILURES).
REQUIRED_FILES = ("test_accounts", "test_auth", "test_status", "test_read", "test_timelines", "test_tags",
                  "test_post", "test_update_account", "test_lists")
# Run and reported, not asserted: they need features that are not served yet.
REPORTED_ONLY_FILES = {
    "test_polls": "polls → not in any issue yet",
}

POLLS = "polls → not in any issue yet"
SCHEDULED = "scheduled posts → not in any issue yet"

# "file::test" → why it may fail today. A listed test that passes is reported so the list can shrink.
EXPECTED_FAILURES: dict[str, str] = {
    "test_post::test_post_scheduled_at": SCHEDULED,
    "test_post::test_post_scheduled_at_error": SCHEDULED,
    "test_post::test_post_scheduled_in": SCHEDULED,
    "test_post::test_post_poll": POLLS,
    "test_post::test_post_poll_multiple": POLLS,
    "test_post::test_post_poll_expires_in": POLLS,
    "test_post::test_post_poll_hide_totals": POLLS,
}
LOGIN_AT_LOCALHOST_3000 = ("test_auth::test_login_cli", "test_auth::test_login_cli_wrong_password")


@dataclass
class Outcome:
    key: str
    outcome: str  # passed | failed | error | skipped
    detail: str


def fetch_toot_source() -> Path:
    """The sdist, from the cache or downloaded with pip; skip (fail in CI) when it cannot be had."""
    cached = sorted(CACHE_DIR.glob(f"toot-{TOOT_VERSION}.tar.gz"))
    if cached:
        return cached[0]
    CACHE_DIR.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"toot=={TOOT_VERSION}",
         "-d", str(CACHE_DIR)],
        capture_output=True, text=True, timeout=300,
    )
    cached = sorted(CACHE_DIR.glob(f"toot-{TOOT_VERSION}.tar.gz"))
    if done.returncode != 0 or not cached:
        skip_or_fail(f"could not download toot {TOOT_VERSION}'s source release:\n{done.stderr[-2000:]}")
    return cached[0]


def unpack(archive: Path, into: Path) -> Path:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, EOFError, OSError):
        archive.unlink(missing_ok=True)  # a download cut short: fetch it again
        with tarfile.open(fetch_toot_source()) as tar:
            tar.extractall(into, filter="data")
    root = into / f"toot-{TOOT_VERSION}"
    assert (root / "tests" / "integration" / "conftest.py").exists(), f"unexpected layout in {archive}"
    return root


def parse_junit(path: Path) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        key = f"{module}::{case.get('name', '')}"
        outcome, detail = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                detail = (node.get("message") or "") + "\n" + (node.text or "")
                break
        outcomes.append(Outcome(key, outcome, detail.strip()))
    return outcomes


def run_suite(source: Path, server: LiveServer, base_url: str, work: Path) -> tuple[list[Outcome], str]:
    report = work / "toot-junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOOT_", "STARLING_", "PYTEST_"))}
    env.update({"TOOT_TEST_BASE_URL": base_url, "XDG_CONFIG_HOME": str(work / "config"),
                "XDG_CACHE_HOME": str(work / "cache"), "NO_COLOR": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration", "-q", "-rA", "--durations=15", "-p", "no:cacheprovider",
         "-p", "no:asyncio", "-p", "no:xdist", "-o", "addopts=", f"--junitxml={report}"],
        cwd=source, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT,
    )
    if not report.exists():
        pytest.fail(f"toot's suite did not run (exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
                    f"\nserver log:\n{server.log_tail()}")
    return parse_junit(report), done.stdout


def test_toot_integration_suite(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    require_database()
    archive = fetch_toot_source()
    source = unpack(archive, tmp_path / "src")
    allowed = dict(EXPECTED_FAILURES)
    port = TOOT_PORT
    if not port_is_free(TOOT_PORT):
        port = free_port()
        allowed.update({k: f"port {TOOT_PORT} is taken: the test logs in at http://localhost:{TOOT_PORT}"
                        for k in LOGIN_AT_LOCALHOST_3000})
    # The suite compares the instance's domain with the address it was given: serve under that name.
    domain = f"localhost:{port}"
    try:
        with start_live_server(tmp_path / "server", port=port, domain=domain) as server:
            outcomes, stdout = run_suite(source, server, f"http://{domain}", tmp_path)
            server_log = server.log_tail(20000)
    except LiveServerError as exc:
        pytest.fail(f"live server: {exc}")

    by_file: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_file.setdefault(o.key.split("::")[0], []).append(o)
    counts = {kind: sum(o.outcome == kind for o in outcomes) for kind in ("passed", "failed", "error", "skipped")}
    unexpected = [o for o in outcomes if o.key.split("::")[0] in REQUIRED_FILES
                  and o.outcome != "passed" and o.key not in allowed]
    now_passing = sorted(o.key for o in outcomes if o.key in allowed and o.outcome == "passed")
    missing = sorted(f for f in REQUIRED_FILES if f not in by_file)

    lines = [
        f"toot {TOOT_VERSION} integration suite against Starling: {counts['passed']} of {len(outcomes)} pass "
        f"({counts['failed']} failing, {counts['error']} errors, {counts['skipped']} skipped)",
        f"  served at http://{domain}" + ("" if port == TOOT_PORT else f" (port {TOOT_PORT} was taken)"),
    ]
    for name in sorted(by_file):
        group = by_file[name]
        note = f"  [reported only: {REPORTED_ONLY_FILES[name]}]" if name in REPORTED_ONLY_FILES else ""
        lines.append(f"  {name}: {sum(o.outcome == 'passed' for o in group)}/{len(group)} pass{note}")
        failing = [o.key.split("::")[1] for o in group if o.outcome != "passed"]
        if failing and name not in REPORTED_ONLY_FILES:
            lines.append("    not passing: " + ", ".join(failing))
    if now_passing:
        lines.append("  expected to fail but passing now (prune EXPECTED_FAILURES): " + ", ".join(now_passing))
    summary = "\n".join(lines)
    print(summary)
    slowest = [line for line in stdout.splitlines() if re.match(r"^\d+\.\d+s (call|setup|teardown) ", line)]
    if slowest:
        print("slowest toot tests:\n" + "\n".join(slowest))
    request.node.user_properties.append(("toot_passed", counts["passed"]))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not hasattr(request.config, "workerinput"):
        reporter.write_line("\n" + summary)

    assert not missing, f"toot's suite has no results for {missing}\n{stdout[-3000:]}"
    if unexpected:
        names = "\n".join(f"  {o.key} ({o.outcome}): {o.detail.splitlines()[0][:160] if o.detail else ''}"
                          for o in unexpected)
        details = "\n\n".join(f"--- {o.key}: {o.outcome}\n{o.detail[-1200:]}" for o in unexpected[:MAX_DETAILS])
        pytest.fail(f"{summary}\n\n{len(unexpected)} unexpected failure(s):\n{names}\n\n{details}\n\n"
                    f"server log (tail):\n{server_log[-4000:]}", pytrace=False)
