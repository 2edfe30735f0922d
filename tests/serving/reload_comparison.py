"""Which server really overlaps old and new workers during a reload? Measures it under load.

For each server: a fresh database, two workers, a load probe (``starling.serving.loadprobe``: 8 keep-alive
clients posting and reading), then three reloads by the server's own mechanism, one after the other.
Prints, per server, the requests sent, the failures (connection errors and 5xx), the slowest request,
the longest time with no completed request, how many processes ran at most during a reload (more than
the worker count means old and new overlapped), and whether every acknowledged post can be read after.

    python -m tests.serving.reload_comparison                      # starling's master
    python -m tests.serving.reload_comparison --server uvicorn gunicorn granian --extra-path /tmp/srvpkgs

gunicorn needs ``uvicorn-worker``, granian ``granian`` on ``--extra-path`` (``pip install --target``); they
are not dependencies of Starling. Results are in docs/OPERATIONS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from starling.serving.loadprobe import LoadProbe
from tests.support.live_server import _seed_actor, free_port, run_async

WORKERS = 2


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"resource_tracker" not in cmdline:
                found.add(int(entry.name))
    return found


def command(server: str, port: int) -> list[str]:
    py = sys.executable
    app = "starling.web.asgi:app"
    if server == "starling":
        return [py, "-m", "starling.cli", "serve", "--workers", str(WORKERS), "--no-migrate"]
    if server == "uvicorn":
        return [py, "-m", "uvicorn", app, "--workers", str(WORKERS), "--host", "127.0.0.1", "--port", str(port),
                "--timeout-graceful-shutdown", "30", "--no-access-log", "--log-level", "warning"]
    if server == "gunicorn":
        return [py, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w", str(WORKERS),
                "-b", f"127.0.0.1:{port}", "--graceful-timeout", "30", "--log-level", "warning", app]
    if server == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--workers", str(WORKERS), "--host", "127.0.0.1",
                "--port", str(port), "--workers-kill-timeout", "30", "--log-level", "warning", app]
    raise ValueError(server)


def wait_answering(base: str, process: subprocess.Popen[bytes], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/v1/instance", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not answer")


def reload_and_wait(server: str, master: int, env: dict[str, str], samples: list[int], limit: float = 90) -> float:
    """Trigger one reload; return its duration. ``samples`` gets the process count seen every 50 ms."""
    before = children(master)
    started = time.monotonic()
    if server == "starling":
        proc = subprocess.Popen([sys.executable, "-m", "starling.cli", "reload"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            samples.append(len(children(master)))
            time.sleep(0.05)
        out = proc.stdout.read().decode() if proc.stdout else ""
        if proc.returncode != 0:
            raise RuntimeError(out)
        return time.monotonic() - started
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        now = children(master)
        samples.append(len(now))
        if len(now) >= WORKERS and not (now & before):
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"{server}: reload did not replace the workers within {limit} s")


def measure(server: str, extra_path: str | None, reloads: int, concurrency: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"reload-{server}-"))
    data = tmp / "data"
    data.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"sqlite+aiosqlite:///{data / 'starling.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update({
        "STARLING_HOST": "127.0.0.1", "STARLING_PORT": str(port), "STARLING_DATA_DIR": str(data),
        "STARLING_DATABASE_URL": url, "STARLING_LOG_LEVEL": "warning", "STARLING_JOB_POLL_INTERVAL": "0.1",
        "STARLING_SECRET_KEY": "reload-comparison-secret-0123456789abcdef", "STARLING_DRAIN_TIMEOUT": "30",
    })
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, env.get("PYTHONPATH")) if p)
    subprocess.run([sys.executable, "-m", "starling.cli", "migrate"], env=env, check=True, capture_output=True)
    _, token = run_async(_seed_actor(url, data, "loadprobe", "loadprobe@example.com", "correct horse battery",
                                     "read write follow push", False))
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(command(server, port), env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    result: dict[str, Any] = {"server": server}
    try:
        wait_answering(base, process)
        probe = LoadProbe(base, concurrency=concurrency, token=token).start()
        time.sleep(3)
        samples: list[int] = []
        durations = []
        for _ in range(reloads):
            durations.append(round(reload_and_wait(server, process.pid, env, samples), 2))
            time.sleep(2)
        summary = probe.stop()
        lost = 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            for status_id in summary.posted_ids:
                if client.get(f"/api/v1/statuses/{status_id}").status_code != 200:
                    lost += 1
        result.update(summary.as_dict())
        result.update({"reload_seconds": durations, "max_processes_during_reload": max(samples, default=0),
                       "lost_posts": lost})
    except Exception as exc:
        result["error"] = str(exc)[-2000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=40)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        result["log_tail"] = (tmp / "server.log").read_text(errors="replace")[-600:] if "error" in result else ""
    return result


def main(run: Callable[..., dict[str, Any]] = measure) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--server", nargs="+", default=["starling"],
                        choices=["starling", "uvicorn", "gunicorn", "granian"])
    parser.add_argument("--extra-path", help="a folder with uvicorn_worker and granian (pip install --target)")
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    for server in args.server:
        print(json.dumps(run(server, args.extra_path, args.reloads, args.concurrency)), flush=True)


if __name__ == "__main__":
    main()
