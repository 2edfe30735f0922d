"""Resident memory of ``starling serve`` as ``make run`` starts it: SQLite default, one worker.

Idle: a fresh data folder, ``starling migrate`` then ``starling serve --no-migrate``; the RSS (VmRSS)
of the server's process tree is read from /proc 5 s after it answers. Each run uses a new folder and
a new process; the median is reported.

After load: on the last run's server, a small community is seeded (2,000 accounts following 100 each,
100,000 statuses, feeds of 400), then 10 s of home timeline reads (32 connections) and 10 s of posting
(16 connections) are sent with wrk, the job backlog is drained, and the RSS is read again.

    python -m bench.memory --runs 3
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    Server,
    SqliteRaw,
    base_parser,
    emit,
    free_port,
    iso_now,
    log,
    machine_info,
    median,
    migrate,
    run_wrk,
    server_env,
)
from bench.seed import Seeder

TARGET_IDLE_MB = 150.0


async def load_then_measure(server: Server, data_dir: Path, workdir: Path) -> dict[str, Any]:
    raw = SqliteRaw(data_dir / "starling.db")
    try:
        seeder = Seeder(raw)
        await seeder.begin()
        users = await seeder.accounts(2_000, "m")
        rng = random.Random(3)
        pairs: list[tuple[int, int]] = []
        for i in range(2_000):
            pairs.extend((users.ids[i], users.ids[t]) for t in rng.sample(range(2_000), 101) if t != i)
        pairs = pairs[: 2_000 * 100]
        await seeder.follows(pairs)
        ids = await seeder.statuses(users.ids, 100_000)
        await seeder.home_feed_from_follows(users.ids, ids[-4 * 2_000])
        await seeder.refresh_counters()
        await seeder.finish()
        tokens = users.write_tokens(workdir / "tokens.txt")
        posters = users.write_tokens(workdir / "posters.txt", range(50))
        reads = await asyncio.to_thread(
            run_wrk, server.base_url, "/api/v1/timelines/home?limit=20", tokens_file=tokens, duration=10,
            connections=32, server=server, workdir=workdir)
        posts = await asyncio.to_thread(
            run_wrk, server.base_url, "/api/v1/statuses", tokens_file=posters, duration=10, connections=16,
            method="POST", body="status", server=server, workdir=workdir)
        started = time.monotonic()
        while time.monotonic() - started < 180:
            if not int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NULL")):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        return {"reads": {"requests": reads.requests, "rps": reads.rps, "errors": reads.errors},
                "posts": {"requests": posts.requests, "rps": posts.rps, "errors": posts.errors},
                "memory": server.memory()}
    finally:
        await raw.close()


async def run(args: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "memory", "db": "sqlite (default)", "workers": 1, "runs": args.runs,
                              "started": iso_now(), "machine": machine_info()}
    idle: list[dict[str, Any]] = []
    try:
        for i in range(args.runs):
            workdir = Path(tempfile.mkdtemp(prefix="starling-bench-mem-"))
            server: Server | None = None
            try:
                env = server_env(port=free_port(), data_dir=workdir / "data", database_url=None)
                migrate(env, workdir / "server.log")
                server = Server(env, 1, workdir / "server.log")
                await server.start()
                await asyncio.sleep(args.settle)
                mem = server.memory()
                idle.append(mem)
                log(f"idle run {i + 1}: RSS {mem['rss_mb']} MB (PSS {mem['pss_mb']} MB)")
                if i == args.runs - 1 and not args.idle_only:
                    after = await load_then_measure(server, workdir / "data", workdir)
                    result["after_load"] = after
                    log(f"after load: RSS {after['memory']['rss_mb']} MB")
            finally:
                if server is not None:
                    await server.stop()
                if not args.keep:
                    shutil.rmtree(workdir, ignore_errors=True)
        rss = median([m["rss_mb"] for m in idle])
        result.update({
            "idle_rss_mb_median": rss,
            "idle_pss_mb_median": median([m["pss_mb"] for m in idle]),
            "idle_runs": idle,
            "target_idle_mb": TARGET_IDLE_MB,
            "met": rss <= TARGET_IDLE_MB,
            "ratio_to_target": round(rss / TARGET_IDLE_MB, 2),
        })
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"memory failed: {result['error']}")
    return result


def main() -> None:
    parser = base_parser(__doc__ or "")
    parser.set_defaults(workers=1)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before reading the RSS")
    parser.add_argument("--idle-only", action="store_true", help="skip the after-load reading")
    args = parser.parse_args()
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
