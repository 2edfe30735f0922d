"""Settings of the serving processes, read from ``STARLING_*`` like the rest (``config.Settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STARLING_", extra="ignore")

    # How long a retiring worker may take to finish its in-flight requests before it is stopped.
    drain_timeout: float = Field(default=30.0, gt=0)
    # How long a new worker may take to start and pass its readiness check before a reload gives up.
    start_timeout: float = Field(default=60.0, gt=0)
    # Connections the kernel queues on the listening socket while no worker accepts.
    backlog: int = Field(default=2048, ge=16)
    # Accept connections on a thread of each worker's own, which stamps them and refuses at once what the
    # worker cannot serve in time, even while its event loop is busy (starling.serving.door). Off: the
    # event loop accepts, as uvicorn does by default.
    accept_thread: bool = True
    # Where the job runner runs when STARLING_RUN_JOBS_IN_SERVER is on: in a process of its own
    # ("process"), inside every web worker ("worker"), or "auto": inside the worker when there is one
    # worker (one process less: the small default), in its own process when there are several.
    job_runner: Literal["auto", "process", "worker"] = "auto"

    def job_runner_for(self, workers: int, run_jobs_in_server: bool) -> str:
        """"process", "worker" or "off"."""
        if not run_jobs_in_server:
            return "off"
        if self.job_runner == "auto":
            return "worker" if workers <= 1 else "process"
        return self.job_runner


# How the master tells a process what it is (environment variables of its children).
LISTEN_FD_ENV = "STARLING_LISTEN_FD"
WORKER_SOCKET_ENV = "STARLING_WORKER_SOCKET"
JOBS_WAKE_ENV = "STARLING_JOBS_WAKE_SOCKET"
GENERATION_ENV = "STARLING_GENERATION"
MASTER_PID_ENV = "STARLING_MASTER_PID"


def die_with_master() -> None:
    """Make this child get SIGTERM when the master dies, even by SIGKILL (Linux), so no orphan keeps the
    socket or runs jobs. A child whose master is already gone exits."""
    import ctypes
    import os
    import signal
    import sys

    master = os.environ.get(MASTER_PID_ENV)
    if not master or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(master):
        sys.exit(0)
