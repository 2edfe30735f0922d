"""What every drill shares: a work folder with a fresh database, a real server, seeding, checks, the verdict.

A drill prints progress on stderr, its figures and one ``VERDICT: PASS ...`` / ``VERDICT: FAIL ...`` line
on stdout, and, as its very last line, one line of JSON with everything it measured. Its exit status is
0 on PASS (or N/A), 1 on FAIL. The server is the real one (``starling serve`` in its own process group,
see ``bench.common.Server``); all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchDb, Raw, Server, emit, free_port, iso_now, log, machine_info, server_env
from bench.seed import Accounts, Seeder

SECRET = "drill-secret-key-0123456789abcdef0123456789abcdef"


def drill_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="database backend")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--seed", type=int, default=1, help="random seed (kill moments, request mix)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and the database")
    return parser


def drill_env(*, port: int, data_dir: Path, database_url: str,
              extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: no inherited STARLING_* setting, quiet logs (``DRILL_SERVER_LOG_LEVEL=info``
    keeps the access log, with ``--keep`` to read it afterwards), a fixed secret."""
    env = server_env(port=port, data_dir=data_dir, database_url=database_url)
    env.update(STARLING_SECRET_KEY=SECRET, STARLING_LOG_LEVEL=os.environ.get("DRILL_SERVER_LOG_LEVEL", "warning"),
               STARLING_DRAIN_TIMEOUT="20",
               STARLING_START_TIMEOUT="60", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def run_cli(env: Mapping[str, str], *args: str, cwd: Path = ROOT, timeout: float = 300,
            log_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``starling <args>`` with the server's environment (and so with its PYTHONPATH: its code)."""
    done = subprocess.run([sys.executable, "-m", "starling.cli", *args], env=dict(env), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if log_path is not None:
        with log_path.open("a") as out:
            out.write(f"$ starling {' '.join(args)}  (exit {done.returncode})\n{done.stdout}{done.stderr}\n")
    return done


@dataclass
class DrillServer(Server):
    """``starling serve`` run from ``cwd`` that can also be killed with SIGKILL, every process at once."""

    cwd: Path = ROOT
    run_dirs: set[str] = field(default_factory=set)

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = ["serve", "--workers", str(self.workers), *(["--no-migrate"] if self.no_migrate else [])]
        with self.log_path.open("ab") as out:
            return subprocess.Popen([sys.executable, "-m", "starling.cli", *args], env=self.env, cwd=self.cwd,
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

    def _remember_run_dirs(self) -> None:
        """The master's private folder of Unix sockets, which a SIGKILL leaves behind."""
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    key, _, value = item.decode(errors="replace").partition("=")
                    if key in ("STARLING_WORKER_SOCKET", "STARLING_JOBS_WAKE_SOCKET") and value:
                        self.run_dirs.add(os.path.dirname(value))

    def kill9(self) -> list[int]:
        """SIGKILL to every process of the server at once (a crash); returns the pids killed."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        self._remember_run_dirs()
        pids = self.pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and _not_zombie(p) for p in pids):
            time.sleep(0.05)
        return pids

    def cleanup(self) -> None:
        self._remember_run_dirs()
        for path in self.run_dirs:
            if path.startswith(tempfile.gettempdir()):
                shutil.rmtree(path, ignore_errors=True)


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Workspace:
    """A temporary folder, a fresh database (dropped afterwards) and, later, a server."""

    name: str
    backend: str
    keep: bool = False
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="starling-drill-")))
    db: BenchDb | None = None
    servers: list[DrillServer] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    async def create_db(self) -> BenchDb:
        log(f"{self.name}: {self.backend}, work folder {self.workdir}")
        self.db = await BenchDb.create(self.backend, self.workdir)
        return self.db

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        assert self.db is not None
        return drill_env(port=self.port, data_dir=self.data_dir, database_url=self.db.url, extra=extra)

    def migrate(self, env: Mapping[str, str], cwd: Path = ROOT) -> None:
        done = run_cli(env, "migrate", cwd=cwd, log_path=self.log_path)
        if done.returncode != 0:
            raise RuntimeError(f"starling migrate failed:\n{done.stdout}\n{done.stderr}")

    def server(self, env: Mapping[str, str], workers: int, cwd: Path = ROOT) -> DrillServer:
        server = DrillServer(dict(env), workers, self.log_path, cwd=cwd)
        self.servers.append(server)
        return server

    async def close(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                await server.stop()
            server.cleanup()
        if self.db is not None and not self.keep:
            try:
                await self.db.drop()
            except Exception as exc:
                log(f"could not drop the database: {exc}")
        if self.keep:
            log(f"kept {self.workdir}" + (f" and database {self.db.pg_name}" if self.db and self.db.pg_name else ""))
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class World:
    """Seeded accounts: posters, followers (each following every poster) and accounts nobody follows yet."""

    posters: Accounts
    followers: Accounts
    extras: Accounts

    @property
    def poster_ids(self) -> list[int]:
        return list(self.posters.ids)


async def seed_world(raw: Raw, *, posters: int, followers: int, extras: int = 0,
                     followers_follow_posters: int | None = None) -> World:
    """Accounts with tokens; each follower follows ``followers_follow_posters`` posters (all by default).

    Written straight into the tables (``bench.seed``), before any server runs, so the follow graph is fixed
    and known when the drill checks home timelines.
    """
    seeder = Seeder(raw)
    await seeder.begin()
    poster_accounts = await seeder.accounts(posters, "poster")
    follower_accounts = await seeder.accounts(followers, "follower")
    extra_accounts = await seeder.accounts(extras, "extra", tokens=False) if extras else Accounts([], [], [])
    per = posters if followers_follow_posters is None else followers_follow_posters
    pairs = [(f, poster_accounts.ids[(i + k) % posters])
             for i, f in enumerate(follower_accounts.ids) for k in range(min(per, posters))]
    await seeder.follows(pairs)
    await seeder.refresh_counters()
    await seeder.finish()
    return World(poster_accounts, follower_accounts, extra_accounts)


async def jobs_left(raw: Raw) -> tuple[int, int]:
    """(jobs still to run, jobs failed for good)."""
    left = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NULL"))
    failed = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NOT NULL"))
    return left, failed


async def wait_jobs_drained(raw: Raw, limit_s: float) -> tuple[int, float]:
    """Wait (bounded) until no job is left to run; returns (jobs left, seconds waited)."""
    started = time.monotonic()
    while True:
        left, _ = await jobs_left(raw)
        if left == 0 or time.monotonic() - started > limit_s:
            return left, round(time.monotonic() - started, 1)
        await asyncio.sleep(0.25)


async def missing_ids(raw: Raw, table: str, ids: Sequence[int], column: str = "id") -> list[int]:
    """Which of ``ids`` have no row in ``table``."""
    found: set[int] = set()
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        rows = await raw.fetch(f"SELECT {column} FROM {table} WHERE {column} IN ({', '.join('?' * len(chunk))})",
                               *chunk)
        found.update(int(r[0]) for r in rows)
    return [i for i in wanted if i not in found]


async def missing_pairs(raw: Raw, table: str, a: str, b: str,
                        pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Which (a, b) pairs have no row in ``table``."""
    rows = await raw.fetch(f"SELECT {a}, {b} FROM {table}")
    present = {(int(x), int(y)) for x, y in rows}
    return sorted({p for p in pairs if p not in present})


async def home_feed_gaps(raw: Raw, author_ids: Sequence[int]) -> dict[str, Any]:
    """Every status of these authors must be in its author's and each follower's home feed, once.

    Feeds are trimmed to their newest ``FEED_SIZE`` entries (``repositories/timelines.py``), so for each
    feed only the newest ``FEED_SIZE`` of the statuses it should hold are required: a trim never removes one
    of those (a feed's cut-off is at most the final one), while older ones may rightly be gone.
    """
    from starling.repositories.timelines import FEED_SIZE

    marks = ", ".join("?" * len(author_ids))
    expected = (
        "SELECT f.account_id AS a, s.id AS sid FROM statuses s JOIN follows f ON f.target_account_id = s.account_id "
        f"WHERE s.account_id IN ({marks}) UNION SELECT s.account_id AS a, s.id AS sid FROM statuses s "
        f"WHERE s.account_id IN ({marks})")
    ranked = (f"SELECT a, sid, row_number() OVER (PARTITION BY a ORDER BY sid DESC) AS rn FROM ({expected}) e")
    args = [*author_ids, *author_ids]
    missing = await raw.fetch(
        f"SELECT r.sid, r.a FROM ({ranked}) r WHERE r.rn <= {FEED_SIZE} AND NOT EXISTS "
        "(SELECT 1 FROM home_feed h WHERE h.account_id = r.a AND h.status_id = r.sid)", *args)
    required = int(await raw.fetchval(f"SELECT count(*) FROM ({ranked}) r WHERE r.rn <= {FEED_SIZE}", *args))
    total = int(await raw.fetchval(f"SELECT count(*) FROM ({expected}) e", *args))
    authors_missing = {int(sid) for sid, a in missing if a in set(author_ids)}
    duplicated = await raw.fetch(
        "SELECT account_id, status_id, count(*) FROM home_feed GROUP BY account_id, status_id HAVING count(*) > 1")
    statuses = int(await raw.fetchval(f"SELECT count(*) FROM statuses WHERE account_id IN ({marks})", *author_ids))
    return {
        "statuses": statuses,
        "feed_size": FEED_SIZE,
        "entries_before_trimming": total,
        "entries_required": required,
        "missing_entries": len(missing),
        "missing_author_entries": len(authors_missing),
        "duplicated_entries": len(duplicated),
        "examples": [[int(x), int(y)] for x, y in missing[:5]],
    }


async def notification_problems(raw: Raw) -> dict[str, Any]:
    """Duplicated notifications, and favourites or follows without exactly one notification."""
    duplicated = await raw.fetch(
        "SELECT account_id, type, activity_id, count(*) FROM notifications "
        "GROUP BY account_id, type, activity_id HAVING count(*) > 1")
    favourites_off = await raw.fetch(
        "SELECT f.id, (SELECT count(*) FROM notifications n WHERE n.type = 'favourite' AND n.activity_id = f.id) "
        "FROM favourites f")
    return {
        "duplicated": len(duplicated),
        "favourites": len(favourites_off),
        "favourites_without_one_notification": sum(1 for _, n in favourites_off if int(n) != 1),
    }


async def follow_notification_problems(raw: Raw, target_ids: Sequence[int]) -> dict[str, int]:
    """Follows of these targets (made during the drill) without exactly one follow notification."""
    if not target_ids:
        return {"follows": 0, "follows_without_one_notification": 0}
    rows = await raw.fetch(
        "SELECT f.id, (SELECT count(*) FROM notifications n WHERE n.type = 'follow' AND n.activity_id = f.id) "
        f"FROM follows f WHERE f.target_account_id IN ({', '.join('?' * len(target_ids))})", *target_ids)
    return {"follows": len(rows), "follows_without_one_notification": sum(1 for _, n in rows if int(n) != 1)}


def header(drill: str, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    return {"drill": drill, "db": args.db, "started": iso_now(), "machine": machine_info(),
            "command": " ".join([Path(sys.executable).name, "-m", f"bench.drills.{drill}", *sys.argv[1:]]), **extra}


def finish(result: dict[str, Any], checks: Mapping[str, bool], *, summary: str = "",
           not_applicable: str | None = None) -> int:
    """Print the verdict line and the JSON line (last); the exit status of the drill."""
    result["checks"] = dict(checks)
    failed = [name for name, ok in checks.items() if not ok]
    if not_applicable is not None:
        verdict = f"VERDICT: N/A {result['drill']} on {result['db']}: {not_applicable}"
        result["verdict"] = "N/A"
    elif failed:
        verdict = f"VERDICT: FAIL {result['drill']} on {result['db']}: failed {', '.join(failed)}"
        result["verdict"] = "FAIL"
    else:
        verdict = f"VERDICT: PASS {result['drill']} on {result['db']}: {len(checks)} checks passed"
        result["verdict"] = "PASS"
    if summary:
        verdict += f" ({summary})"
    print(verdict, flush=True)
    emit(result)
    return 1 if failed and not_applicable is None else 0


def print_figures(title: str, figures: Mapping[str, Any]) -> None:
    print(f"== {title}", flush=True)
    for key, value in figures.items():
        print(f"  {key}: {value}", flush=True)
