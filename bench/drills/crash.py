"""Drill 2: kill -9 at random moments during a posting, favouriting and following load; restart; count.

Accounts are seeded before any server runs: posters, followers that each follow every poster (a fixed
graph, so the home timelines every post must reach are known), and accounts nobody follows yet. Clients
post (as posters), favourite acknowledged posts and follow the unfollowed accounts (as followers), and
read home timelines, all the time. Two phases:

1. **server**: ``starling serve`` with its job runner (a process of its own with 2 workers, inside the
   worker with 1) gets SIGKILL on every one of its processes at once, ``--kills`` times, each at a random
   moment, and is started again;
2. **job runner**: ``starling serve`` with ``STARLING_RUN_JOBS_IN_SERVER=false`` and a separate
   ``starling worker``, which gets SIGKILL ``--kills`` times and is started again.

Then the load stops, a job runner finishes what is left (jobs a killed runner held come back when their
60 s lease runs out), and the database is read. Pass: every acknowledged post, favourite and follow is
there; every post of a poster (acknowledged or not: a post committed just before a kill counts too) is in
its author's and every follower's home feed, once; no notification is duplicated; every favourite and every
new follow has exactly one notification; no job is left or failed.

    python -m bench.drills.crash --db sqlite
    python -m bench.drills.crash --db postgres --kills 20
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, log
from bench.drills.common import (
    Workspace,
    drill_parser,
    finish,
    follow_notification_problems,
    header,
    home_feed_gaps,
    jobs_left,
    missing_ids,
    missing_pairs,
    notification_problems,
    print_figures,
    seed_world,
    wait_jobs_drained,
)
from bench.drills.load import Client, MixedLoad, unreadable_posts


class JobRunner:
    """``starling worker`` in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "starling.cli", "worker"], env=self.env, cwd=ROOT,
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()


async def run_drill(backend: str, *, kills: int = 20, runner_kills: int | None = None, workers: int = 2,
                    concurrency: int = 6, min_gap: float = 0.5, max_gap: float = 4.0, lease_s: float | None = None,
                    drain_limit: float = 180.0, seed: int = 1,
                    keep: bool = False) -> tuple[dict[str, Any], dict[str, bool]]:
    rng = random.Random(seed)
    runner_kills = kills if runner_kills is None else runner_kills
    ws = Workspace("crash", backend, keep=keep)
    result: dict[str, Any] = {"workers": workers, "concurrency": concurrency, "server_kills": kills,
                              "runner_kills": runner_kills, "gap_s": [min_gap, max_gap],
                              "job_lease_s": lease_s or 60}
    runner: JobRunner | None = None
    try:
        db = await ws.create_db()
        extra: dict[str, str] = {"STARLING_JOB_POLL_INTERVAL": "0.2"}
        if lease_s is not None:  # a killed runner's jobs come back sooner
            extra["STARLING_JOB_LEASE"] = str(lease_s)
        env = ws.env(extra)
        await asyncio.to_thread(ws.migrate, env)
        raw = await db.connect()
        world = await seed_world(raw, posters=8, followers=12, extras=20)
        posters = [Client(i, t) for i, t in zip(world.posters.ids, world.posters.token_list(), strict=True)]
        readers = [Client(i, t) for i, t in zip(world.followers.ids, world.followers.token_list(), strict=True)]

        server = ws.server(env, workers)
        await server.start()
        load = MixedLoad(server.base_url, posters=posters, readers=readers, follow_targets=world.extras.ids,
                         concurrency=concurrency, seed=seed,
                         mix={"post": 5, "favourite": 2, "follow": 1, "home": 1}).start()
        server_kills: list[dict[str, Any]] = []
        for i in range(kills):
            await asyncio.sleep(rng.uniform(min_gap, max_gap))
            acked = len(load.acks.posts)
            left, _ = await jobs_left(raw)
            pids = await asyncio.to_thread(server.kill9)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            restart = time.monotonic()
            await server.start()
            server_kills.append({"processes": len(pids), "jobs_pending_at_kill": left, "posts_acked_before": acked,
                                 "restart_s": round(time.monotonic() - restart, 2)})
            log(f"server kill {i + 1}/{kills}: {len(pids)} processes, {left} jobs pending; back after "
                f"{server_kills[-1]['restart_s']} s")
        await server.stop()

        env_b = {**env, "STARLING_RUN_JOBS_IN_SERVER": "false"}
        server_b = ws.server(env_b, workers)
        await server_b.start()
        runner = JobRunner(env_b, ws.workdir / "runner.log")
        runner.start()
        runner_log: list[dict[str, Any]] = []
        for i in range(runner_kills):
            await asyncio.sleep(rng.uniform(min_gap, max_gap) / 2)
            left, _ = await jobs_left(raw)
            await asyncio.to_thread(runner.kill9)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            runner.start()
            runner_log.append({"jobs_pending_at_kill": left})
            log(f"job runner kill {i + 1}/{runner_kills}: {left} jobs pending")
        await asyncio.sleep(1.0)
        load.stop()
        summary = load.summary()
        left, drained_after = await wait_jobs_drained(raw, drain_limit)
        log(f"jobs drained: {left} left after {drained_after} s")

        missing_posts = await missing_ids(raw, "statuses", [p for p, _ in load.acks.posts])
        missing_favs = await missing_pairs(raw, "favourites", "account_id", "status_id", load.acks.favourites)
        missing_follows = await missing_pairs(raw, "follows", "account_id", "target_account_id", load.acks.follows)
        feeds = await home_feed_gaps(raw, world.poster_ids)
        notes = await notification_problems(raw)
        follow_notes = await follow_notification_problems(raw, world.extras.ids)
        left, failed = await jobs_left(raw)
        unreadable = await asyncio.to_thread(unreadable_posts, server_b.base_url, readers[0].token,
                                             [p for p, _ in load.acks.posts])
        await raw.close()
        posts_in_db = feeds["statuses"]
        result.update({
            "load": summary,
            "server_kill_log": server_kills,
            "runner_kill_log": runner_log,
            "restart_s": {"min": min((k["restart_s"] for k in server_kills), default=None),
                          "max": max((k["restart_s"] for k in server_kills), default=None)},
            "jobs_drain_s": drained_after,
            "acknowledged": summary["acknowledged"],
            "posts_in_database": posts_in_db,
            "committed_but_unacknowledged_posts": posts_in_db - len(load.acks.posts),
            "missing": {"posts": len(missing_posts), "favourites": len(missing_favs), "follows": len(missing_follows),
                        "unreadable_posts": len(unreadable)},
            "home_feeds": feeds,
            "notifications": {**notes, **follow_notes},
            "jobs": {"left": left, "failed": failed},
        })
        checks = {
            "server_killed": len(server_kills) == kills,
            "runner_killed": len(runner_log) == runner_kills,
            "writes_acknowledged": bool(load.acks.posts) and bool(load.acks.favourites) and bool(load.acks.follows),
            "acknowledged_posts_present": not missing_posts and not unreadable,
            "acknowledged_favourites_present": not missing_favs,
            "acknowledged_follows_present": not missing_follows,
            "every_post_in_every_home_feed_once": feeds["missing_entries"] == 0 and feeds["duplicated_entries"] == 0,
            "no_duplicated_notifications": notes["duplicated"] == 0,
            "one_notification_per_favourite": notes["favourites_without_one_notification"] == 0,
            "one_notification_per_follow": follow_notes["follows_without_one_notification"] == 0,
            "jobs_all_done": left == 0 and failed == 0,
        }
        return result, checks
    finally:
        if runner is not None:
            runner.stop()
        await ws.close()


def main() -> None:
    parser = drill_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs of the server (and as many of the runner)")
    parser.add_argument("--runner-kills", type=int, default=None, help="SIGKILLs of the job runner")
    parser.add_argument("--concurrency", type=int, default=6, help="load clients")
    parser.add_argument("--min-gap", type=float, default=0.5, help="shortest time between restart and kill (s)")
    parser.add_argument("--max-gap", type=float, default=4.0, help="longest time between restart and kill (s)")
    parser.add_argument("--lease", type=float, default=None,
                        help="shorten the job lease (s) in the job-running processes; default: the real 60 s")
    args = parser.parse_args()
    result = header("crash", args)
    drill, checks = asyncio.run(run_drill(args.db, kills=args.kills, runner_kills=args.runner_kills,
                                          workers=args.workers, concurrency=args.concurrency,
                                          min_gap=args.min_gap, max_gap=args.max_gap, lease_s=args.lease,
                                          seed=args.seed, keep=args.keep))
    result.update(drill)
    load = drill["load"]
    print_figures("crash: kill -9 under load", {
        "kills": f"server {drill['server_kills']} (every process at once), job runner {drill['runner_kills']}",
        "server restart": f"{drill['restart_s']['min']}–{drill['restart_s']['max']} s until it answers again",
        "requests": f"{load['requests']} in {load['seconds']} s, ok {load['ok']}, no answer or 5xx {load['failed']} "
                    f"{load['failures_by_kind']}",
        "acknowledged": drill["acknowledged"],
        "posts in the database": f"{drill['posts_in_database']} "
                                 f"({drill['committed_but_unacknowledged_posts']} committed but not acknowledged)",
        "missing after restart": drill["missing"],
        "home feeds": drill["home_feeds"],
        "notifications": drill["notifications"],
        "jobs": f"{drill['jobs']}, drained {drill['jobs_drain_s']} s after the load stopped",
    })
    sys.exit(finish(result, checks))


if __name__ == "__main__":
    main()
