"""Child processes that look like a Starling master to the pid-file checks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def spawn_lookalike(name: str = "starling", seconds: int = 120) -> subprocess.Popen[bytes]:
    """Start an idle process whose command line names `name`, and wait until it shows.

    Until the child has exec'd, /proc still shows the parent's command line, so a check made
    right after Popen would see pytest, not a Starling master.
    """
    process = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})", name])
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 10
    while name.encode() not in cmdline.read_bytes():
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"child {process.pid} never showed {name!r} in its command line")
        time.sleep(0.01)
    return process
