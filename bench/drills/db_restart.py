"""Drill 4: restart PostgreSQL under load; errors only while it is down, quick recovery, no lost write.

The machine's shared PostgreSQL is never touched: the drill makes a private cluster (``initdb`` into a
temporary folder, run as the ``postgres`` user when the drill runs as root, on a free port of 127.0.0.1),
points a two-worker ``starling serve`` at it and runs mixed clients (posts, favourites, home timelines,
status reads). After ``--warmup`` seconds it stops the cluster (``pg_ctl stop -m fast``), waits
``--down`` seconds, starts it again (``pg_ctl start -w``), and keeps the load going ``--after`` seconds.

Pass: no failed request before the stop; none later than ``--recovery`` seconds after the cluster is back;
a success within that time; every acknowledged post readable and stored, every acknowledged favourite
stored, every post in its followers' home feeds once the jobs are done, and no job failed for good.
On SQLite there is no database server to restart: the drill says N/A.

    python -m bench.drills.db_restart --db postgres
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.common import BenchDb, free_port, log
from bench.drills.common import (
    Workspace,
    drill_parser,
    finish,
    header,
    home_feed_gaps,
    missing_ids,
    missing_pairs,
    print_figures,
    seed_world,
    wait_jobs_drained,
)
from bench.drills.load import Client, MixedLoad, unreadable_posts

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/local/bin")


def pg_bin(name: str) -> str:
    for folder in PG_BIN_DIRS:
        path = Path(folder) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found (looked in {', '.join(PG_BIN_DIRS)} and PATH)")
    return found


class PrivatePostgres:
    """A throw-away PostgreSQL cluster of the drill's own: nothing else uses it, so restarting it is safe."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="starling-drill-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def init(self) -> None:
        self._run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                   "-c shared_buffers=64MB")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"), "-w", "-t", "60",
                  "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


async def run_drill(*, workers: int = 2, concurrency: int = 6, warmup: float = 8.0, down: float = 3.0,
                    after: float = 15.0, recovery: float = 5.0, drain_limit: float = 180.0, seed: int = 1,
                    keep: bool = False) -> tuple[dict[str, Any], dict[str, bool]]:
    pg = PrivatePostgres()
    ws = Workspace("db_restart", "postgres", keep=keep)
    result: dict[str, Any] = {"workers": workers, "concurrency": concurrency, "warmup_s": warmup, "down_s": down,
                              "after_s": after, "recovery_limit_s": recovery}
    try:
        await asyncio.to_thread(pg.init)
        await asyncio.to_thread(pg.start)
        log(f"private PostgreSQL on 127.0.0.1:{pg.port} in {pg.root}")
        url = await pg.create_database("starling_drill")
        # A database of the private cluster; the cluster goes away as a whole.
        ws.db = BenchDb("postgres", ws.workdir, url)
        env = ws.env()
        await asyncio.to_thread(ws.migrate, env)
        raw = await ws.db.connect()
        world = await seed_world(raw, posters=6, followers=8)
        await raw.close()
        posters = [Client(i, t) for i, t in zip(world.posters.ids, world.posters.token_list(), strict=True)]
        readers = [Client(i, t) for i, t in zip(world.followers.ids, world.followers.token_list(), strict=True)]
        server = ws.server(env, workers)
        await server.start()
        pids_before = sorted(server.worker_pids())
        load = MixedLoad(server.base_url, posters=posters, readers=readers, concurrency=concurrency, seed=seed,
                         request_timeout=20, error_pause=0.02,
                         mix={"post": 4, "favourite": 1, "home": 2, "status": 1}).start()
        await asyncio.sleep(warmup)
        stop_begin = time.monotonic()
        await asyncio.to_thread(pg.stop, "fast")
        stop_end = time.monotonic()
        log(f"PostgreSQL stopped in {stop_end - stop_begin:.2f} s; down for {down} s")
        await asyncio.sleep(down)
        start_begin = time.monotonic()
        await asyncio.to_thread(pg.start)
        start_end = time.monotonic()
        log(f"PostgreSQL started in {start_end - start_begin:.2f} s")
        await asyncio.sleep(after)
        load.stop()
        summary = load.summary()
        outcomes = sorted(load.outcomes, key=lambda o: o.finished)
        failures = [o for o in outcomes if o.failed]
        before = [o for o in failures if o.finished < stop_begin]
        during = [o for o in failures if stop_begin <= o.finished <= start_end]
        later = [o for o in failures if o.finished > start_end]
        first_ok = next((o.finished for o in outcomes if o.ok and o.started >= start_end), None)
        last_failure = max((o.finished for o in later), default=None)
        ok_while_down = sum(1 for o in outcomes if o.ok and stop_end <= o.started and o.finished <= start_begin)

        raw = await ws.db.connect()
        left, drained_after = await wait_jobs_drained(raw, drain_limit)
        missing_posts = await missing_ids(raw, "statuses", [p for p, _ in load.acks.posts])
        missing_favs = await missing_pairs(raw, "favourites", "account_id", "status_id", load.acks.favourites)
        feeds = await home_feed_gaps(raw, world.poster_ids)
        failed_jobs = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NOT NULL"))
        await raw.close()
        unreadable = await asyncio.to_thread(unreadable_posts, server.base_url, readers[0].token,
                                             [p for p, _ in load.acks.posts])
        pids_after = sorted(server.worker_pids())
        result.update({
            "load": summary,
            "postgres": {"stop_s": round(stop_end - stop_begin, 2), "start_s": round(start_end - start_begin, 2),
                         "down_s": round(start_end - stop_begin, 2)},
            "failures": {
                "before_stop": len(before), "while_down": len(during), "after_start": len(later),
                "while_down_by_kind": _kinds(during), "after_start_by_kind": _kinds(later),
                "examples": [f"{o.op}: {o.error or o.status} {o.detail}" for o in during[:4]],
                "after_start_examples": [f"{o.op} at +{o.started - start_end:.2f} s: {o.error or o.status} {o.detail}"
                                         for o in later[:4]],
            },
            "answers_ok_while_down": ok_while_down,
            "first_success_after_start_s": round(first_ok - start_end, 3) if first_ok else None,
            "last_failure_after_start_s": round(last_failure - start_end, 3) if last_failure else 0.0,
            "server_processes_replaced": pids_before != pids_after,
            "jobs": {"left": left, "failed": failed_jobs, "drained_after_s": drained_after},
            "missing": {"posts": len(missing_posts), "unreadable_posts": len(unreadable),
                        "favourites": len(missing_favs)},
            "home_feeds": feeds,
        })
        checks = {
            "no_errors_before_the_stop": not before,
            "errors_only_while_down": last_failure is None or last_failure - start_end <= recovery,
            "recovered_within_limit": first_ok is not None and first_ok - start_end <= recovery,
            "writes_acknowledged": bool(load.acks.posts),
            "no_lost_acknowledged_write": not missing_posts and not unreadable and not missing_favs,
            "fan_out_complete": left == 0 and feeds["missing_entries"] == 0,
            "no_failed_jobs": failed_jobs == 0,
        }
        return result, checks
    finally:
        await ws.close()
        if keep:
            log(f"kept the private cluster in {pg.root} (stopped)")
            with contextlib.suppress(Exception):
                pg.stop("immediate")
        else:
            pg.remove()


def _kinds(outcomes: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for o in outcomes:
        key = o.error or f"http-{o.status}"
        found[key] = found.get(key, 0) + 1
    return found


def main() -> None:
    parser = drill_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds of load before the stop")
    parser.add_argument("--down", type=float, default=3.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--after", type=float, default=15.0, help="seconds of load after the start")
    parser.add_argument("--recovery", type=float, default=5.0, help="seconds allowed to recover after the start")
    parser.add_argument("--concurrency", type=int, default=6, help="load clients")
    parser.add_argument("--drain-limit", type=float, default=180.0, help="seconds to wait for the jobs to finish")
    args = parser.parse_args()
    result = header("db_restart", args)
    if args.db == "sqlite":
        sys.exit(finish(result, {}, not_applicable="SQLite is embedded in the server process: there is no "
                                                   "database server to restart (drill 2 kills the server itself)"))
    drill, checks = asyncio.run(run_drill(workers=args.workers, concurrency=args.concurrency, warmup=args.warmup,
                                          down=args.down, after=args.after, recovery=args.recovery,
                                          drain_limit=args.drain_limit,
                                          seed=args.seed, keep=args.keep))
    result.update(drill)
    load = drill["load"]
    print_figures("PostgreSQL restart under load", {
        "requests": f"{load['requests']} in {load['seconds']} s, ok {load['ok']}, failed {load['failed']}",
        "postgres": drill["postgres"],
        "failures": drill["failures"],
        "answers ok while down": drill["answers_ok_while_down"],
        "first success after the start": f"{drill['first_success_after_start_s']} s",
        "last failure after the start": f"{drill['last_failure_after_start_s']} s",
        "server processes replaced": drill["server_processes_replaced"],
        "jobs": drill["jobs"],
        "missing": drill["missing"],
        "home feeds": {k: v for k, v in drill["home_feeds"].items() if k != "examples"},
    })
    sys.exit(finish(result, checks))


if __name__ == "__main__":
    main()
