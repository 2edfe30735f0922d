"""The master process of ``starling serve``: holds the listening socket and supervises the workers.

It binds the socket once and hands it to every web worker (``starling.serving.worker``), starts one
job-runner process (``starling.serving.jobs_process``; with a single worker the runner runs inside it,
see ``STARLING_JOB_RUNNER``) unless jobs run elsewhere, restarts a process
that dies, and on SIGHUP (``starling reload``) replaces them all with processes running the code now
on disk:

1. start N new web workers next to the old ones (both accept on the same socket: they overlap);
2. ask each new worker ``GET /health/ready`` on its private Unix socket until it answers 200;
   if one fails or is not ready within ``STARLING_START_TIMEOUT``, stop the new ones and keep the old;
3. start a new job runner, then send SIGTERM to the old workers and the old runner: they stop
   accepting, finish in-flight requests and jobs within ``STARLING_DRAIN_TIMEOUT``, and exit
   (SIGKILL after that, plus a few seconds).

The listening socket never closes, so a connection that arrives while no worker accepts waits in the
kernel's backlog instead of being refused. The master imports no application code: it never needs
reloading itself. Its pid is in ``<data dir>/starling.pid``; what it is doing, in
``<data dir>/starling.status.json`` (see :mod:`starling.serving.state`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from starling.config import Settings, get_settings
from starling.serving import state
from starling.serving.settings import (
    GENERATION_ENV,
    JOBS_WAKE_ENV,
    LISTEN_FD_ENV,
    MASTER_PID_ENV,
    WORKER_SOCKET_ENV,
    ServingSettings,
)

log = logging.getLogger("starling.master")

READY_PATHS = ("/health/ready", "/api/v1/instance")
KILL_GRACE = 5.0

# glibc's malloc arenas per web worker, unless MALLOC_ARENA_MAX is set (docs/OPERATIONS.md).
WORKER_MALLOC_ARENA_MAX = "2"


@dataclass(eq=False)
class Child:
    role: str  # "web" or "jobs"
    generation: int
    proc: asyncio.subprocess.Process
    socket_path: str | None
    started: float = field(default_factory=time.monotonic)
    retiring: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def describe(self) -> dict[str, Any]:
        return {"pid": self.pid, "role": self.role, "generation": self.generation}


async def probe(socket_path: str, path: str, limit: float = 5.0) -> int | None:
    """The HTTP status of ``GET path`` on a worker's private socket, or None when it does not answer."""
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_unix_connection(socket_path)
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError):
        return None
    parts = line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return int(parts[1])


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class Master:
    def __init__(self, settings: Settings, serving: ServingSettings, workers: int) -> None:
        self.settings = settings
        self.serving = serving
        self.workers = max(1, workers)
        self.data_dir = settings.data_dir.resolve()
        self.job_runner = serving.job_runner_for(self.workers, settings.run_jobs_in_server)
        self.jobs_enabled = self.job_runner == "process"
        self.web: list[Child] = []
        self.jobs: Child | None = None
        self.generation = 0
        self.reload_seq = 0
        self.state = "starting"
        self.revisions: list[str] = []
        self.last_reload: dict[str, Any] | None = None
        self._children: set[Child] = set()
        self._spawned = 0
        self._fast_crashes = 0
        self._stopping = False
        self._reload_requested = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self.sock: socket.socket | None = None
        self.run_dir = ""

    # -- processes

    def _child_env(self, generation: int, socket_path: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env[GENERATION_ENV] = str(generation)
        env[MASTER_PID_ENV] = str(os.getpid())
        env[JOBS_WAKE_ENV] = self.wake_path if self.jobs_enabled else ""
        if self.jobs_enabled:
            env["STARLING_RUN_JOBS_IN_SERVER"] = "false"  # the runner has its own process
        if socket_path:
            env[WORKER_SOCKET_ENV] = socket_path
        return env

    @property
    def wake_path(self) -> str:
        return os.path.join(self.run_dir, "jobs.sock")

    async def _spawn(self, role: str, generation: int) -> Child:
        assert self.sock is not None
        self._spawned += 1
        if role == "web":
            socket_path: str | None = os.path.join(self.run_dir, f"w{self._spawned}.sock")
            env = self._child_env(generation, socket_path)
            env[LISTEN_FD_ENV] = str(self.sock.fileno())
            # glibc gives each thread that allocates (the accepting thread, the database driver's) an arena of
            # its own; a worker holding thousands of idle streams fragments them. Unless the operator chose.
            env.setdefault("MALLOC_ARENA_MAX", WORKER_MALLOC_ARENA_MAX)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "starling.serving.worker",
                env=env, pass_fds=(self.sock.fileno(),), stdin=subprocess.DEVNULL,
            )
        else:
            socket_path = None
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "starling.serving.jobs_process",
                env=self._child_env(generation, None), stdin=subprocess.DEVNULL,
            )
        child = Child(role=role, generation=generation, proc=proc, socket_path=socket_path)
        self._children.add(child)
        asyncio.get_running_loop().create_task(self._watch(child))
        log.info("started %s process %d (generation %d)", role, child.pid, generation)
        return child

    async def _watch(self, child: Child) -> None:
        code = await child.proc.wait()
        self._children.discard(child)
        if child.retiring or self._stopping:
            return
        current = child in self.web or child is self.jobs
        if not current:
            return
        lived = time.monotonic() - child.started
        log.warning("%s process %d exited with code %s after %.1f s; starting another", child.role, child.pid,
                    code, lived)
        self._fast_crashes = self._fast_crashes + 1 if lived < 10 else 0
        await asyncio.sleep(min(30.0, 0.25 * 2 ** min(self._fast_crashes, 7)) if self._fast_crashes else 0)
        if self._stopping or not (child in self.web or child is self.jobs):
            return
        replacement = await self._spawn(child.role, child.generation)
        if child.role == "web":
            self.web[self.web.index(child)] = replacement
        else:
            self.jobs = replacement
        self._write_status()

    async def _ready(self, child: Child, deadline: float) -> str | None:
        """None once the worker answers its readiness check; otherwise why it did not."""
        assert child.socket_path is not None
        last = "no answer"
        paths = list(READY_PATHS)
        while time.monotonic() < deadline:
            if child.proc.returncode is not None:
                return f"worker {child.pid} exited with code {child.proc.returncode} before it was ready"
            status = await probe(child.socket_path, paths[0])
            if status == 200:
                return None
            if status == 404 and len(paths) > 1:
                paths.pop(0)  # an older release without /health/ready
                continue
            if status is not None:
                last = f"{paths[0]} answered {status}"
            await asyncio.sleep(0.1)
        return f"worker {child.pid} not ready within {self.serving.start_timeout:.0f} s ({last})"

    async def _all_ready(self, children: list[Child]) -> str | None:
        deadline = time.monotonic() + self.serving.start_timeout
        problems = [p for p in await asyncio.gather(*(self._ready(c, deadline) for c in children)) if p]
        return "; ".join(problems) or None

    async def _terminate(self, children: list[Child], grace: float) -> None:
        """SIGTERM, wait up to ``grace`` seconds for them to finish, then SIGKILL what is left."""
        alive = [c for c in children if c.proc.returncode is None]
        for child in alive:
            child.retiring = True
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
        if not alive:
            return
        _, pending = await asyncio.wait([asyncio.ensure_future(c.proc.wait()) for c in alive], timeout=grace)
        if pending:
            for child in alive:
                if child.proc.returncode is None:
                    log.warning("%s process %d did not stop in %.0f s: killing it", child.role, child.pid, grace)
                    with contextlib.suppress(ProcessLookupError):
                        child.proc.kill()
            await asyncio.wait(pending, timeout=KILL_GRACE)

    # -- status

    def _write_status(self) -> None:
        retiring = [c.describe() for c in self._children if c.retiring]
        state.write_status(self.data_dir, {
            "pid": os.getpid(),
            "state": self.state,
            "address": f"{self.settings.host}:{self.settings.port}",
            "generation": self.generation,
            "reload_seq": self.reload_seq,
            "workers": [c.describe() for c in self.web],
            "jobs": self.jobs.describe() if self.jobs else None,
            "job_runner": self.job_runner,
            "retiring": retiring,
            "revisions": self.revisions,
            "drain_timeout": self.serving.drain_timeout,
            "start_timeout": self.serving.start_timeout,
            "last_reload": self.last_reload,
        })

    # -- lifecycle

    async def _start_generation(self) -> str | None:
        self.revisions = state.code_revisions()
        self.generation = 1
        self.web = [await self._spawn("web", 1) for _ in range(self.workers)]
        problem = await self._all_ready(self.web)
        if problem is None and self.jobs_enabled:
            self.jobs = await self._spawn("jobs", 1)
        return problem

    async def reload(self) -> None:
        try:
            await self._reload()
        except Exception as exc:  # a reload that breaks must never take the serving workers down
            log.exception("reload %d failed", self.reload_seq)
            current = set(self.web) | ({self.jobs} if self.jobs else set())
            await self._terminate([c for c in self._children if c not in current and not c.retiring], KILL_GRACE)
            self.last_reload = {"seq": self.reload_seq, "started_at": time.time(), "ok": False,
                                "error": f"{type(exc).__name__}: {exc}", "finished_at": time.time(),
                                "kept_pids": [c.pid for c in self.web]}
            self.state = "serving"
            self._write_status()

    async def _reload(self) -> None:
        self.reload_seq += 1
        started_wall, t0 = time.time(), time.monotonic()
        self.state = "reloading"
        self._write_status()
        generation = self.generation + 1
        revisions = state.code_revisions()
        log.info("reload %d: starting %d workers of generation %d", self.reload_seq, self.workers, generation)
        new = [await self._spawn("web", generation) for _ in range(self.workers)]
        problem = await self._all_ready(new)
        record: dict[str, Any] = {"seq": self.reload_seq, "started_at": started_wall, "generation": generation}
        if problem is not None:
            log.error("reload %d failed, keeping generation %d: %s", self.reload_seq, self.generation, problem)
            await self._terminate(new, KILL_GRACE)
            self.last_reload = {**record, "ok": False, "error": problem, "finished_at": time.time(),
                                "kept_pids": [c.pid for c in self.web]}
            self.state = "serving"
            self._write_status()
            return
        ready_after = time.monotonic() - t0
        old = list(self.web) + ([self.jobs] if self.jobs else [])
        self.web, self.generation, self.revisions = new, generation, revisions
        if self.jobs_enabled:
            self.jobs = await self._spawn("jobs", generation)
        for child in old:
            child.retiring = True
        self._write_status()
        t1 = time.monotonic()
        await self._terminate(old, self.serving.drain_timeout + KILL_GRACE)
        self.last_reload = {
            **record, "ok": True, "finished_at": time.time(),
            "ready_seconds": round(ready_after, 3), "drain_seconds": round(time.monotonic() - t1, 3),
            "old_pids": [c.pid for c in old], "new_pids": [c.pid for c in self.web]
            + ([self.jobs.pid] if self.jobs else []),
        }
        log.info("reload %d done: generation %d ready in %.1f s, old processes gone %.1f s later",
                 self.reload_seq, generation, ready_after, time.monotonic() - t1)
        self.state = "serving"
        self._write_status()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop_requested.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload_requested.set)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = tempfile.mkdtemp(prefix="starling-run-")
        self.sock = bind_socket(self.settings.host, self.settings.port, self.serving.backlog)
        state.write_pid(self.data_dir, os.getpid())
        self._write_status()
        try:
            return await self._serve()
        finally:
            self._stopping = True
            self.state = "stopping"
            self._write_status()
            await self._terminate(list(self._children), self.serving.drain_timeout + KILL_GRACE)
            self.sock.close()
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.state = "stopped"
            self.web, self.jobs = [], None
            self._write_status()
            state.remove_pid(self.data_dir, os.getpid())

    async def _serve(self) -> int:
        start = asyncio.ensure_future(self._start_generation())
        stop = asyncio.ensure_future(self._stop_requested.wait())
        await asyncio.wait([start, stop], return_when=asyncio.FIRST_COMPLETED)
        if not start.done():
            start.cancel()
            return 0
        problem = start.result()
        if problem is not None:
            log.error("workers did not start: %s", problem)
            return 1
        self.state = "serving"
        self._write_status()
        log.info("serving on %s:%d with %d workers", self.settings.host, self.settings.port, self.workers)
        while True:
            wake = asyncio.ensure_future(self._reload_requested.wait())
            await asyncio.wait([wake, stop], return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                wake.cancel()
                return 0
            self._reload_requested.clear()
            task = asyncio.ensure_future(self.reload())
            await asyncio.wait([task, stop], return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return 0
            task.result()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="starling-master")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s[%(process)d] %(message)s")
    master = Master(settings, ServingSettings(), args.workers or settings.workers)
    try:
        code = asyncio.run(master.run())
    except OSError as exc:
        log.error("cannot serve on %s:%d: %s", settings.host, settings.port, exc)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
