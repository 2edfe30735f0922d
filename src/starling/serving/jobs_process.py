"""The job-runner process: claims and runs outbox jobs until SIGTERM, then finishes the jobs in hand.

The master runs one next to the web workers (``starling worker`` runs one by hand). Web workers wake
it through a Unix datagram socket after a commit that added jobs; without a wake-up it polls every
``STARLING_JOB_POLL_INTERVAL`` seconds. Being killed at any moment is safe: a job's row is deleted in
the transaction of its effects, and an unfinished job's lease runs out so another runner takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys

from starling.bootstrap import build_container
from starling.config import get_settings
from starling.serving.settings import JOBS_WAKE_ENV, die_with_master

log = logging.getLogger("starling.jobs")


def _wake_socket(path: str) -> socket.socket:
    # A reload starts the new runner before the old one stops: the new one takes the name over.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock


async def _until(event: asyncio.Event) -> None:
    await event.wait()


async def run_jobs(wake_path: str | None = None) -> int:
    """Run jobs until SIGTERM (exit status 0) or until the runner ends by itself (1).

    A runner that ended without being asked runs no more jobs; the process must not live on as if it did,
    so it exits with an error and the master starts another one.
    """
    container = build_container(get_settings())
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sock = _wake_socket(wake_path) if wake_path else None

    def on_wake() -> None:
        assert sock is not None
        with contextlib.suppress(OSError):
            while sock.recv(64):
                pass
        container.runner.wake()

    if sock is not None:
        loop.add_reader(sock.fileno(), on_wake)
    runner = await container.start_jobs()
    stopped = asyncio.ensure_future(_until(stop))
    try:
        await asyncio.wait({stopped, runner}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if sock is not None:
            loop.remove_reader(sock.fileno())
            sock.close()
        await container.close()
    if stop.is_set():
        return 0
    log.error("the job runner ended while not stopping; exiting so that a new process takes over")
    return 1


def main() -> None:
    die_with_master()
    logging.basicConfig(level=get_settings().log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    sys.exit(asyncio.run(run_jobs(os.environ.get(JOBS_WAKE_ENV) or None)))


if __name__ == "__main__":
    main()
