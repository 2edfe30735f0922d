"""Shared benchmark machinery: fresh databases, a real server process, wrk, /proc readings and output.

Every benchmark creates its own database (a SQLite file in a temporary folder, or a fresh PostgreSQL
database that is dropped afterwards), migrates it with ``python -m starling.cli migrate``, seeds it
directly in the database, starts ``starling serve --workers N --no-migrate`` on a free port of
127.0.0.1 and prints one line of JSON with its figures as the last line on stdout (progress goes to
stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """The final stdout line: the benchmark's figures as JSON."""
    print(json.dumps(result, sort_keys=False), flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="database backend")
    parser.add_argument("--runs", type=int, default=3, help="measured runs; the median is reported")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--profile", metavar="DIR", default=None,
                        help="after the measured runs, do one more run under py-spy and write profiles to DIR")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and PostgreSQL database)")
    parser.add_argument("--quiet-wait", type=float, default=120.0,
                        help="before each measured run, wait up to this many seconds for the machine to be idle")
    return parser


def add_server_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", default=[], metavar="STARLING_KEY=VALUE",
                        help="a setting of the server under test, e.g. STARLING_WRITE_LANE=off (repeatable)")


def server_settings(pairs: list[str]) -> dict[str, str]:
    """``--env`` values as a dict; the server's other ``STARLING_*`` variables are the benchmark's own."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.startswith("STARLING_"):
            raise SystemExit(f"--env wants STARLING_KEY=VALUE, got {pair!r}")
        settings[key] = value
    return settings


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def irq_jiffies() -> int:
    """Interrupt and softirq time of the whole machine (loopback networking is mostly softirq)."""
    values = [int(p) for p in _read("/proc/stat").splitlines()[0].split()[1:]]
    return values[5] + values[6]


def cpu_times() -> tuple[int, int, int]:
    """Whole-machine (busy, total, steal) jiffies from /proc/stat."""
    parts = _read("/proc/stat").splitlines()[0].split()[1:]
    values = [int(p) for p in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    steal = values[7] if len(values) > 7 else 0
    total = sum(values[:8])
    return total - idle, total, steal


def code_version() -> dict[str, str]:
    """The commit and a digest of the source tree as it is now (the tree may hold uncommitted work)."""
    import hashlib

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10, check=False).stdout.strip()
    except OSError:
        commit = ""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "starling").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return {"commit": commit, "src_digest": digest.hexdigest()[:12]}


def machine_info() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    mem_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                   if line.startswith("MemTotal")), 0)
    flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "virtualized": " hypervisor" in flags,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "loadavg_at_start": _read("/proc/loadavg").split()[:3],
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "code": code_version(),
    }


# --------------------------------------------------------------------------- processes


def _stat_fields(pid: int) -> list[str] | None:
    raw = _read(f"/proc/{pid}/stat")
    if not raw:
        return None
    # The command name may contain spaces: fields start after the closing parenthesis.
    return raw[raw.rfind(")") + 2:].split()


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def memory_of(pids: Iterable[int]) -> dict[str, Any]:
    """RSS (VmRSS) and PSS (smaps_rollup) of each process, in MB, and their sums."""
    per: list[dict[str, Any]] = []
    for pid in pids:
        status = _read(f"/proc/{pid}/status")
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
        if rss is None:
            continue
        pss = next((int(line.split()[1]) for line in _read(f"/proc/{pid}/smaps_rollup").splitlines()
                    if line.startswith("Pss:")), None)
        cmd = _read(f"/proc/{pid}/cmdline").replace("\0", " ").strip()
        per.append({"pid": pid, "rss_mb": round(rss / 1024, 1),
                    "pss_mb": round(pss / 1024, 1) if pss is not None else None, "cmd": cmd[:120]})
    return {
        "rss_mb": round(sum(p["rss_mb"] for p in per), 1),
        "pss_mb": round(sum(p["pss_mb"] or 0 for p in per), 1),
        "processes": per,
    }


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes (for CPU accounting only)."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and _read(f"/proc/{e}/comm").strip() == "postgres"]


class CpuMeter:
    """CPU used over an interval, in cores: the whole machine, the server, PostgreSQL and everything else."""

    def __init__(self, server: Server | None = None) -> None:
        self.server = server

    def _snapshot(self) -> tuple[float, tuple[int, int, int], float, float, int]:
        return (time.monotonic(), cpu_times(), self.server.cpu_seconds() if self.server else 0.0,
                cpu_seconds(postgres_pids()), irq_jiffies())

    def _per_process(self) -> dict[str, float]:
        if self.server is None:
            return {}
        return {f"{role}-{pid}": cpu_seconds([pid]) for pid, role in self.server.roles().items()}

    def start(self) -> None:
        self._start = self._snapshot()
        self._start_each = self._per_process()

    def stop(self, extra_cpu_s: float = 0.0, extra_name: str = "load_generator") -> dict[str, Any]:
        t1, (busy1, total1, steal1), srv1, pg1, irq1 = self._snapshot()
        t0, (busy0, total0, steal0), srv0, pg0, irq0 = self._start
        wall = max(1e-6, t1 - t0)
        cores = os.cpu_count() or 1
        dtotal = max(1, total1 - total0)
        machine = cores * (busy1 - busy0) / dtotal
        server = (srv1 - srv0) / wall
        pg = (pg1 - pg0) / wall
        extra = extra_cpu_s / wall
        irq = cores * (irq1 - irq0) / dtotal
        each = {key: round((cpu - self._start_each.get(key, 0.0)) / wall, 2)
                for key, cpu in self._per_process().items()}
        return {
            "machine_cores": round(machine, 2),
            "server_cores": round(server, 2),
            "postgres_cores": round(pg, 2),
            f"{extra_name}_cores": round(extra, 2),
            "irq_cores": round(irq, 2),
            "other_cores": round(max(0.0, machine - server - pg - extra - irq), 2),
            "steal_pct": round(100 * (steal1 - steal0) / dtotal, 1),
            "server_processes_cores": each,
        }


async def wait_for_quiet(limit_s: float, *, threshold_cores: float = 0.3, exclude: Sequence[int] = ()) -> float:
    """Wait (bounded) until the machine is nearly idle; returns the CPU (cores) others used in the last second.

    The machine is shared: other work running at the same time skews every figure, so benchmarks start
    when it is quiet, and report how busy it was when they could not wait any longer.
    """
    deadline = time.monotonic() + limit_s
    cores = os.cpu_count() or 1
    while True:
        busy0, total0, _ = cpu_times()
        own0 = cpu_seconds(exclude)
        t0 = time.monotonic()
        await asyncio.sleep(1.0)
        busy1, total1, _ = cpu_times()
        used = cores * (busy1 - busy0) / max(1, total1 - total0) - (cpu_seconds(exclude) - own0) / (
            time.monotonic() - t0)
        if used <= threshold_cores or time.monotonic() > deadline:
            if used > threshold_cores:
                log(f"machine still busy ({used:.2f} cores used by others); going on")
            return round(max(0.0, used), 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- databases


def _to_dollar(sql: str) -> str:
    counter = iter(range(1, 10_000))
    return re.sub(r"\?", lambda _m: f"${next(counter)}", sql)


class Raw:
    """Direct database access for seeding and measuring (``?`` placeholders on both backends)."""

    backend: str

    async def execute(self, sql: str, *args: Any) -> None:
        raise NotImplementedError

    async def fetchval(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    def ts(self, value: datetime) -> Any:
        """A timestamp as the backend stores it (SQLAlchemy's SQLite format, or an aware datetime)."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class PgRaw(Raw):
    backend = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(_to_dollar(sql), *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(_to_dollar(sql), *args)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.conn.fetch(_to_dollar(sql), *args)]

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count = 0
        for chunk in chunked(rows, 100_000):
            await self.conn.copy_records_to_table(table, records=chunk, columns=list(columns))
            count += len(chunk)
        return count

    def ts(self, value: datetime) -> Any:
        return value

    async def close(self) -> None:
        await self.conn.close()


class SqliteRaw(Raw):
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=30000")

    async def execute(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.conn.execute(sql, args).fetchall()]

    async def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        count = 0
        for chunk in chunked(rows, 200_000):
            self.conn.execute("BEGIN")
            self.conn.executemany(sql, chunk)
            self.conn.execute("COMMIT")
            count += len(chunk)
        return count

    def ts(self, value: datetime) -> Any:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def close(self) -> None:
        self.conn.close()


def chunked(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class BenchDb:
    backend: str
    workdir: Path
    url: str
    pg_name: str | None = None
    sqlite_path: Path | None = None

    @classmethod
    async def create(cls, backend: str, workdir: Path) -> BenchDb:
        if backend == "sqlite":
            path = workdir / "data" / "starling.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(backend, workdir, f"sqlite+aiosqlite:///{path}", sqlite_path=path)
        name = f"starling_bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return cls(backend, workdir, f"{base}/{name}", pg_name=name)

    @property
    def plain_url(self) -> str:
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def connect(self) -> Raw:
        if self.backend == "sqlite":
            assert self.sqlite_path is not None
            return SqliteRaw(self.sqlite_path)
        return PgRaw(await asyncpg.connect(self.plain_url, timeout=10))

    async def drop(self) -> None:
        if self.pg_name is None:
            return
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        finally:
            await conn.close()

    def size_mb(self) -> float | None:
        if self.sqlite_path is not None:
            files = [self.sqlite_path, Path(f"{self.sqlite_path}-wal")]
            return round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 1)
        return None


async def db_size_mb(db: BenchDb, raw: Raw) -> float | None:
    if db.backend == "postgres":
        return round(float(await raw.fetchval("SELECT pg_database_size(current_database())")) / 1e6, 1)
    return db.size_mb()


# --------------------------------------------------------------------------- the server


def starling_command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "starling"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "starling.cli", *args]


def server_env(*, port: int, data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARLING_")}
    env.update(STARLING_HOST="127.0.0.1", STARLING_PORT=str(port), STARLING_DATA_DIR=str(data_dir))
    if database_url is not None:
        env["STARLING_DATABASE_URL"] = database_url
    return env


def migrate(env: dict[str, str], log_path: Path) -> float:
    started = time.monotonic()
    with log_path.open("ab") as out:
        subprocess.run([sys.executable, "-m", "starling.cli", "migrate"], env=env, cwd=ROOT,
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300)
    return time.monotonic() - started


@dataclass
class Server:
    """``starling serve`` in its own process group, stopped by its own pid."""

    env: dict[str, str]
    workers: int
    log_path: Path
    no_migrate: bool = True
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    extra: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.env["STARLING_PORT"])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = ["serve", *(["--workers", str(self.workers)] if self.workers != 1 else []),
                *(["--no-migrate"] if self.no_migrate else []), *self.extra]
        with self.log_path.open("ab") as out:
            return subprocess.Popen(starling_command(*args), env=self.env, cwd=ROOT, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    async def start(self, limit_s: float = 90.0) -> float:
        started = time.monotonic()
        self.proc = self._spawn()
        deadline = started + limit_s
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer within {limit_s}s:\n{self.log_tail()}")
                try:
                    response = await client.get(f"{self.base_url}/api/v1/instance")
                    if response.status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            # Every worker has to finish its start-up, not only the first to answer.
            while time.monotonic() < deadline:
                if len(self.web_pids()) >= self.workers:
                    break
                await asyncio.sleep(0.1)
            for _ in range(20):
                await client.get(f"{self.base_url}/api/v1/instance")
        await asyncio.sleep(1.0)
        self.started_at = time.monotonic()
        return self.started_at - started

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc is not None else []

    def roles(self) -> dict[int, str]:
        """Each process of the server and what it does: master, web, jobs (or helper)."""
        if self.proc is None:
            return {}
        out: dict[int, str] = {}
        for pid in self.pids():
            cmd = _read(f"/proc/{pid}/cmdline").replace("\0", " ")
            if "serving.worker" in cmd or "multiprocessing.spawn" in cmd:
                out[pid] = "web"
            elif "jobs_process" in cmd:
                out[pid] = "jobs"
            elif pid == self.proc.pid:
                out[pid] = "master"
            else:
                out[pid] = "helper"
        return out

    def web_pids(self) -> list[int]:
        roles = self.roles()
        web = [p for p, r in roles.items() if r == "web"]
        # One uvicorn process without a supervisor serves requests itself.
        return web or [p for p, r in roles.items() if r == "master"]

    def worker_pids(self) -> list[int]:
        """The processes that run application code: web workers and the job runner."""
        roles = self.roles()
        busy = [p for p, r in roles.items() if r in ("web", "jobs")]
        return busy or [p for p, r in roles.items() if r == "master"]

    def memory(self) -> dict[str, Any]:
        return memory_of(self.pids())

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def log_errors(self, limit: int = 30) -> list[str]:
        """Lines of the server's log that report errors, with the exception line that ends each traceback."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
        marks = ("ERROR", "Error:", "Exception", '" 500', "WARNING")
        found: list[str] = []
        in_traceback = False
        for line in lines:
            if line.startswith("Traceback"):
                in_traceback = True
                continue
            if in_traceback:
                if line.startswith(" ") or not line.strip():
                    continue
                in_traceback = False
                found.append("  -> " + line[:300])
                continue
            if any(m in line for m in marks):
                found.append(line[:300])
        return found[-limit:]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid
        os.killpg(pgid, signal.SIGTERM)
        for _ in range(150):
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Workers may outlive the supervisor for a moment.
        for _ in range(50):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.1)


@dataclass
class Bench:
    """One benchmark's environment: temporary folder, database, server."""

    name: str
    backend: str
    workers: int
    keep: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="starling-bench-")))
    db: BenchDb | None = None
    server: Server | None = None
    timings: dict[str, float] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)  # --env: the server's own settings

    async def prepare(self) -> tuple[BenchDb, Raw]:
        log(f"{self.name}: {self.backend}, work folder {self.workdir}")
        self.db = await BenchDb.create(self.backend, self.workdir)
        self.timings["migrate_s"] = round(migrate(self.env(), self.workdir / "server.log"), 2)
        return self.db, await self.db.connect()

    def env(self) -> dict[str, str]:
        assert self.db is not None
        if not hasattr(self, "_port"):
            self._port = free_port()
        env = server_env(port=self._port, data_dir=self.workdir / "data", database_url=self.db.url)
        env.update(self.settings)
        return env

    async def start_server(self, *, summed_metrics: bool = False) -> Server:
        """``summed_metrics``: every worker writes its metrics to one folder, so that ``/metrics`` on any of
        them gives the whole server's (``PROMETHEUS_MULTIPROC_DIR``)."""
        env = self.env()
        if summed_metrics:
            folder = self.workdir / "prometheus"
            folder.mkdir(exist_ok=True)
            env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        self.server = Server(env, self.workers, self.workdir / "server.log")
        self.timings["server_start_s"] = round(await self.server.start(), 2)
        log(f"{self.name}: server up on {self.server.base_url}, pids {self.server.pids()}")
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            await self.server.stop()
        if self.db is not None and not self.keep:
            try:
                await self.db.drop()
            except Exception as exc:
                log(f"could not drop the database: {exc}")
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"kept {self.workdir}" + (f" and database {self.db.pg_name}" if self.db and self.db.pg_name else ""))


# --------------------------------------------------------------------------- wrk

WRK_SCRIPT = r"""
local tokens_path = os.getenv("BENCH_TOKENS")
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body_kind = os.getenv("BENCH_BODY") or ""
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status >= 400 and first_error == nil then
    first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
  end
end

function init(args)
  tokens = {}
  for line in io.lines(tokens_path) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  math.randomseed(os.time() * 1000 + (tid or 0))
  n = 0
end

function request()
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}
  local body = nil
  if body_kind == "status" then
    headers["Content-Type"] = "application/json"
    body = string.format('{"status":"Benchmark post %d.%d at %d: the quick brown fox jumps over the lazy dog"}',
                         tid or 0, n, os.time())
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  for _, thread in ipairs(threads) do
    local err = thread:get("first_error")
    if err ~= nil then io.write("BENCHERROR " .. string.gsub(err, "\n", " ") .. "\n") end
  end
end
"""


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: dict[str, int]
    first_error: str | None
    wrk_cpu_s: float
    wrk_cpu_pct: float
    cpu: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_wrk(
    base_url: str,
    path: str,
    *,
    tokens_file: Path,
    duration: float,
    connections: int,
    threads: int = 1,
    method: str = "GET",
    body: str = "",
    server: Server | None = None,
    workdir: Path,
) -> WrkResult:
    """Run wrk (blocking; call from a thread) and return its figures and its own CPU use."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    env = dict(os.environ, BENCH_TOKENS=str(tokens_file), BENCH_METHOD=method, BENCH_PATH=path, BENCH_BODY=body)
    out_path = workdir / "wrk.out"
    meter = CpuMeter(server)
    meter.start()
    started = time.monotonic()
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
             "-s", str(script), base_url],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    wrk_cpu = usage.ru_utime + usage.ru_stime
    cpu = meter.stop(wrk_cpu, "wrk")
    text = out_path.read_text(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{text[-2000:]}")
    data = json.loads(line[len("BENCHJSON "):])
    dur = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"],
        duration_s=round(dur, 3),
        rps=round(data["requests"] / dur, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p90_ms=round(data["p90_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        max_ms=round(data["max_us"] / 1000, 2),
        mean_ms=round(data["mean_us"] / 1000, 2),
        errors={k: data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")},
        first_error=next((x[len("BENCHERROR "):] for x in text.splitlines() if x.startswith("BENCHERROR ")), None),
        wrk_cpu_s=round(wrk_cpu, 2),
        wrk_cpu_pct=round(100 * wrk_cpu / wall, 1),
        cpu=cpu,
    )


# --------------------------------------------------------------------------- profiling


class Profiler:
    """py-spy on every worker of the server for the length of one run; summarised afterwards."""

    def __init__(self, out_dir: Path, label: str) -> None:
        self.out_dir = out_dir
        self.label = label
        self.procs: list[tuple[int, Path, subprocess.Popen[bytes]]] = []

    def start(self, pids: Sequence[int]) -> None:
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists():
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for pid in pids:
            out = self.out_dir / f"{self.label}-{pid}.txt"
            proc = subprocess.Popen(
                [str(spy), "record", "--pid", str(pid), "--rate", "200", "--nonblocking", "--format", "raw",
                 "--output", str(out)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            self.procs.append((pid, out, proc))

    def stop(self, top: int = 30) -> dict[str, Any]:
        """Stop py-spy (it writes its profile on SIGINT) and summarise."""
        for _pid, _out, proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _pid, _out, proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        files = [out for _pid, out, _proc in self.procs if out.exists()]
        summary = summarise_collapsed(files, top=top)
        summary["files"] = [str(f) for f in files]
        (self.out_dir / f"{self.label}-summary.json").write_text(json.dumps(summary, indent=2))
        return summary


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)".
    m = re.match(r"(.*) \((.*?):?(\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.group(1), m.group(2)
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


def summarise_collapsed(files: Sequence[Path], *, top: int) -> dict[str, Any]:
    """Inclusive and self shares of samples per function, over all the profiled processes."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_s = line.rpartition(" ")
            if not stack or not count_s.isdigit():
                continue
            count = int(count_s)
            total += count
            frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                      and not f.startswith("thread ")]
            for name in set(frames):
                inclusive[name] = inclusive.get(name, 0) + count
            if frames:
                own[frames[-1]] = own.get(frames[-1], 0) + count

    def share(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "top_inclusive_pct": share(inclusive), "top_self_pct": share(own)}


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActivitySampler:
    """PostgreSQL only: samples pg_stat_activity of the benchmark database to see which statements run.

    A poor man's statement profiler (pg_stat_statements needs a server setting the benchmark cannot change).
    """

    def __init__(self, db: BenchDb, interval: float = 0.01) -> None:
        self.db = db
        self.interval = interval
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.db.plain_url, timeout=10)
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(
                    "SELECT query, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'")
                self.samples += 1
                for row in rows:
                    key = f"[{row['w']}] {' '.join(str(row['query']).split())[:160]}"
                    self.counts[key] = self.counts.get(key, 0) + 1
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def start(self) -> None:
        if self.db.backend == "postgres":
            self._task = asyncio.create_task(self._run())

    async def stop(self, top: int = 15) -> dict[str, Any]:
        self._stop.set()
        if self._task is not None:
            await self._task
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])[:top]
        return {"samples": self.samples,
                "active_statements": [(q, round(n / max(1, self.samples), 3)) for q, n in ranked]}


async def statements_per_request(
    db: BenchDb, workdir: Path, method: str, path: str, token: str, json_body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """SQL statements one request runs: the app in this process on the same database, a second (warm) request.

    Diagnostic for profiles only; the figures themselves always come from the real server process.
    """
    from sqlalchemy import event

    from starling.bootstrap import build_container
    from starling.config import Settings
    from starling.web.app import create_app

    settings = Settings(database_url=db.url, data_dir=workdir / "data", run_jobs_in_server=False)
    container = build_container(settings)
    app = create_app(settings, container=container)
    seen: list[list[Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append([" ".join(statement.split())[:140], time.perf_counter(), " ".join(statement.split())])

    def after(*_args: Any) -> None:
        if seen:
            seen[-1][1] = round(1000 * (time.perf_counter() - seen[-1][1]), 2)

    event.listen(container.engine.sync_engine, "before_cursor_execute", before)
    event.listen(container.engine.sync_engine, "after_cursor_execute", after)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            headers = {"Authorization": f"Bearer {token}"}
            await client.request(method, path, headers=headers, json=json_body)
            seen.clear()
            started = time.perf_counter()
            response = await client.request(method, path, headers=headers, json=json_body)
            elapsed = time.perf_counter() - started
        slowest = max(seen, key=lambda x: x[1]) if seen else None
        return {"status": response.status_code, "count": len(seen), "in_process_ms": round(1000 * elapsed, 1),
                "statements_ms_total": round(sum(x[1] for x in seen), 2),
                "statements": [(x[0], x[1]) for x in seen],
                "slowest_sql": slowest[2] if slowest else None}
    finally:
        await container.engine.dispose()


DISTURBED_CORES = 0.25


async def clean_runs(
    wanted: int, attempt: Callable[[int], Awaitable[dict[str, Any]]], *, others: Callable[[dict[str, Any]], float],
    extra_attempts: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs until ``wanted`` of them were undisturbed by other work on the machine (bounded).

    A run is disturbed when processes other than the server, PostgreSQL and the load generator used more
    than DISTURBED_CORES cores during it. Returns (kept, discarded); when too few clean runs happened, the
    least disturbed ones are kept and marked ``"disturbed": true``.
    """
    kept: list[dict[str, Any]] = []
    discarded: list[dict[str, Any]] = []
    for i in range(wanted + extra_attempts):
        if len(kept) >= wanted:
            break
        one = await attempt(i)
        one["disturbed"] = others(one) > DISTURBED_CORES
        (discarded if one["disturbed"] else kept).append(one)
        if one["disturbed"]:
            log(f"run {i + 1} disturbed by other work ({others(one):.2f} cores); it does not count")
    if len(kept) < wanted:
        discarded.sort(key=others)
        need = wanted - len(kept)
        kept.extend(discarded[:need])
        discarded = discarded[need:]
    return kept, discarded
