"""Helpers for streaming tests against real server processes: a second server on the same database,
a killed and restarted server, and an SSE reader that records every event with its id."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.live_server import LiveServer, LiveServerError, free_port


@dataclass
class Event:
    id: int | None
    event: str
    data: str

    @property
    def payload(self) -> Any:
        return json.loads(self.data)


def spawn(server: LiveServer, log_path: Path, *, port: int | None = None, data_dir: Path | None = None,
          extra_env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Another ``starling serve`` on the database of ``server`` (its own port and data directory, unless
    given: the data directory holds the pid file that keeps two masters apart)."""
    port = port or free_port()
    data_dir = data_dir or log_path.with_suffix(".data")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(server.env)
    env["STARLING_PORT"] = str(port)
    env["STARLING_DATA_DIR"] = str(data_dir)
    env.update(extra_env or {})
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "starling.cli", "serve", "--no-migrate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LiveServerError(f"server exited: {log_path.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(f"{base}/api/v1/streaming/health", timeout=2)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise LiveServerError("second server did not answer")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


@dataclass
class SSEReader:
    """Reads one SSE stream in a thread; ``events`` fills as they arrive; ``ended`` when the server ends it."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _client: httpx.Client | None = None

    def start(self) -> SSEReader:
        threading.Thread(target=self._run, daemon=True).start()
        if not self.opened.wait(15):
            raise AssertionError(f"stream {self.url} did not open")
        return self

    def _run(self) -> None:
        current: dict[str, str] = {}
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=120)) as client:
                self._client = client
                with client.stream("GET", self.url, headers=self.headers) as response:
                    self.status = response.status_code
                    self.opened.set()
                    if response.status_code != 200:
                        response.read()
                        return
                    for line in response.iter_lines():
                        if line.startswith(":"):
                            self.comments.append(line[1:])
                        elif line == "":
                            if "event" in current:
                                raw_id = current.get("id")
                                self.events.append(Event(int(raw_id) if raw_id else None, current["event"],
                                                         current.get("data", "")))
                            current = {}
                        else:
                            key, _, value = line.partition(": ")
                            current[key] = value
        except BaseException as exc:
            self.error = exc
        finally:
            self.opened.set()
            self.ended.set()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events):
                return list(self.events)
            if self.ended.is_set() and not predicate(self.events):
                break
            time.sleep(0.05)
        raise AssertionError(f"condition not met; events: {[(e.id, e.event) for e in self.events]}")

    def last_id(self) -> int | None:
        ids = [e.id for e in self.events if e.id is not None]
        return ids[-1] if ids else None


def wait_until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
