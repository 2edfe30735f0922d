"""The files through which the master and the ``starling`` command talk: a pid file and a status file.

Both live in the data directory (``STARLING_DATA_DIR``): ``starling.pid`` holds the master's pid and
``starling.status.json`` what it is doing (generation of the running workers, their pids, the outcome
of the last reload). The status file is replaced atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

PID_FILE = "starling.pid"
STATUS_FILE = "starling.status.json"

_REVISION = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


def pid_path(data_dir: Path) -> Path:
    return data_dir.resolve() / PID_FILE


def status_path(data_dir: Path) -> Path:
    return data_dir.resolve() / STATUS_FILE


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_starling(pid: int) -> bool:
    """False when the pid now belongs to another program (a pid file left by a master that was killed)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: trust the pid
    return b"starling" in cmdline


def read_pid(data_dir: Path) -> int | None:
    """The pid of a running master, or None (no pid file, or its process is gone)."""
    try:
        pid = int(pid_path(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if process_alive(pid) and _is_starling(pid) else None


def write_pid(data_dir: Path, pid: int) -> None:
    _write_atomic(pid_path(data_dir), f"{pid}\n")


def remove_pid(data_dir: Path, pid: int) -> None:
    path = pid_path(data_dir)
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text().strip()) == pid:
            path.unlink()


def read_status(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(status_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_status(data_dir: Path, status: dict[str, Any]) -> None:
    _write_atomic(status_path(data_dir), json.dumps({**status, "updated_at": time.time()}, indent=2) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def code_revisions() -> list[str]:
    """Migration revisions shipped with the code on disk, read from the files without importing them.

    The master records them for each generation of workers it starts, so ``starling migrate --contract``
    can tell whether every running worker already has the code that no longer needs what a contract
    migration removes.
    """
    versions = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    found: list[str] = []
    for path in sorted(versions.glob("*.py")):
        with contextlib.suppress(OSError):
            match = _REVISION.search(path.read_text())
            if match:
                found.append(match.group(1))
    return found
