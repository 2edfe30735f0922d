"""Talking to a running master from the command line: find it, ask for a reload, wait for the outcome."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starling.serving import state


class NotRunning(RuntimeError):
    pass


@dataclass
class ReloadOutcome:
    ok: bool
    record: dict[str, Any]
    status: dict[str, Any]

    def summary(self) -> str:
        r = self.record
        if not self.ok:
            return f"reload failed, the running workers were kept: {r.get('error', 'unknown error')}"
        new = ", ".join(str(p) for p in r.get("new_pids", []))
        old = ", ".join(str(p) for p in r.get("old_pids", []))
        return (
            f"reloaded: generation {r.get('generation')} (processes {new}) ready after {r.get('ready_seconds')} s; "
            f"old processes ({old}) drained and gone {r.get('drain_seconds')} s later"
        )


def master_pid(data_dir: Path) -> int:
    pid = state.read_pid(data_dir)
    if pid is None:
        raise NotRunning(f"no running Starling server found ({state.pid_path(data_dir)} is missing or stale)")
    return pid


def running_status(data_dir: Path) -> dict[str, Any] | None:
    """The status of the running master, or None when none runs."""
    if state.read_pid(data_dir) is None:
        return None
    return state.read_status(data_dir)


def reload(data_dir: Path, *, timeout: float | None = None, poll: float = 0.1) -> ReloadOutcome:
    """Send SIGHUP to the master and wait for the reload that starts after it to finish."""
    pid = master_pid(data_dir)
    before = state.read_status(data_dir) or {}
    limit = timeout or float(before.get("start_timeout", 60)) + float(before.get("drain_timeout", 30)) + 30
    asked_at = time.time()
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(poll)
        if not state.process_alive(pid):
            raise NotRunning(f"the server (pid {pid}) stopped during the reload")
        current = state.read_status(data_dir) or {}
        record = current.get("last_reload") or {}
        if record.get("finished_at") and float(record.get("started_at", 0)) >= asked_at - 0.001:
            return ReloadOutcome(ok=bool(record.get("ok")), record=record, status=current)
    raise TimeoutError(f"the reload did not finish within {limit:.0f} s")
