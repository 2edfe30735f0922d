"""Posting throughput: POST /api/v1/statuses at concurrency 16, with fan-out keeping up.

Data: 5,000 local accounts; 100 of them post, each followed by 200 others chosen at random. wrk (one
thread, 16 connections) posts as a random poster per request. The job backlog (``SELECT count(*) FROM
jobs``) is sampled every second during the run; after it, the benchmark waits (bounded) for the backlog
to drain and checks that the newest posts reached all their followers' home feeds.

Figures: posts/s while posting, the backlog over time and at the end, the time to drain it, and the
sustained rate (posts / (posting time + drain time)), which is what the server can keep up with.

    python -m bench.posting --db postgres --runs 3
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

from bench.common import (
    ActivitySampler,
    Bench,
    Profiler,
    Raw,
    Server,
    add_server_settings,
    base_parser,
    clean_runs,
    emit,
    iso_now,
    log,
    machine_info,
    median,
    run_wrk,
    server_settings,
    statements_per_request,
    wait_for_quiet,
)
from bench.scrape import metrics_text, write_gate
from bench.seed import Seeder

TARGET_POSTS_S = 300.0


async def backlog(raw: Raw) -> int:
    return int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NULL"))


async def drain(raw: Raw, limit_s: float) -> tuple[int, float]:
    started = time.monotonic()
    while True:
        left = await backlog(raw)
        if left == 0 or time.monotonic() - started > limit_s:
            return left, round(time.monotonic() - started, 2)
        await asyncio.sleep(0.1)


async def sample_backlog(raw: Raw, stop: asyncio.Event, started: float, out: list[tuple[float, int]]) -> None:
    while not stop.is_set():
        out.append((round(time.monotonic() - started, 1), await backlog(raw)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def one_run(raw: Raw, server: Server, args: Any, tokens_file: Path, workdir: Path, followers: int,
                  duration: float) -> dict[str, Any]:
    statuses_before = int(await raw.fetchval("SELECT count(*) FROM statuses"))
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()
    started = time.monotonic()
    sampler = asyncio.create_task(sample_backlog(raw, stop, started, samples))
    scraped_before = await metrics_text(server.base_url)
    wrk = await asyncio.to_thread(
        run_wrk, server.base_url, "/api/v1/statuses", tokens_file=tokens_file, duration=duration,
        connections=args.connections, threads=args.wrk_threads, method="POST", body="status", server=server,
        workdir=workdir,
    )
    stop.set()
    await sampler
    scraped_after = await metrics_text(server.base_url)
    at_end = await backlog(raw)
    by_kind = await raw.fetch("SELECT kind, count(*) FROM jobs WHERE failed_at IS NULL GROUP BY kind ORDER BY kind")
    left, drain_s = await drain(raw, args.drain_timeout)
    created = int(await raw.fetchval("SELECT count(*) FROM statuses")) - statuses_before
    newest = await raw.fetch(
        "SELECT s.id, (SELECT count(*) FROM home_feed h WHERE h.status_id = s.id) FROM statuses s "
        "ORDER BY s.id DESC LIMIT 50")
    # Every follower plus the author.
    short = [sid for sid, n in newest if n < followers + 1]
    ok_posts = wrk.requests - sum(wrk.errors.values())
    posts_s = ok_posts / wrk.duration_s
    return {
        "posts_s": round(posts_s, 1),
        "sustained_posts_s": round(ok_posts / (wrk.duration_s + drain_s), 1) if left == 0 else None,
        "backlog_end": at_end,
        "backlog_end_by_kind": {k: n for k, n in by_kind},
        "drain_s": drain_s,
        "backlog_left_after_drain": left,
        "backlog_over_time": samples,
        "statuses_created": created,
        "newest_50_fully_delivered": not short,
        "newest_50_short": len(short),
        "wrk": wrk.as_dict(),
        # SQLite: how long write transactions (posts, and the job runner's) waited for the write gate and
        # held it, as the server measured them during the posting (not the drain).
        "write_gate": write_gate(scraped_before, scraped_after),
    }


async def run(args: Any) -> dict[str, Any]:
    bench = Bench("posting", args.db, args.workers, keep=args.keep, settings=server_settings(args.env))
    result: dict[str, Any] = {"benchmark": "posting", "db": args.db, "workers": args.workers, "runs": args.runs,
                              "started": iso_now(), "machine": machine_info(), "server_settings": bench.settings,
                              "load_generator": f"wrk -t{args.wrk_threads} -c{args.connections}, Lua: random "
                                                "poster token per request, JSON body"}
    try:
        db, raw = await bench.prepare()
        seeder = Seeder(raw)
        await seeder.begin()
        seed_started = time.monotonic()
        accounts = await seeder.accounts(args.accounts, "p", tokens=range(args.posters))
        rng = random.Random(7)
        pairs: list[tuple[int, int]] = []
        for poster in range(args.posters):
            fans = rng.sample(range(args.posters, args.accounts), args.followers)
            pairs.extend((accounts.ids[f], accounts.ids[poster]) for f in fans)
        await seeder.follows(pairs)
        await seeder.refresh_counters()
        await seeder.finish()
        result["seed"] = {**seeder.timings, "total_s": round(time.monotonic() - seed_started, 2),
                          "accounts": args.accounts, "posters": args.posters, "followers_each": args.followers}
        tokens_file = accounts.write_tokens(bench.workdir / "tokens.txt", range(args.posters))
        server = await bench.start_server(summed_metrics=True)
        warm = await one_run(raw, server, args, tokens_file, bench.workdir, args.followers, args.warmup)
        log(f"warm-up: {warm['posts_s']} posts/s, drained in {warm['drain_s']} s")

        async def attempt(i: int) -> dict[str, Any]:
            others = await wait_for_quiet(args.quiet_wait, exclude=server.pids())
            one = await one_run(raw, server, args, tokens_file, bench.workdir, args.followers, args.duration)
            one["others_cores_before"] = others
            one["server_rss_mb"] = server.memory()["rss_mb"]
            log(f"run {i + 1}: {one['posts_s']} posts/s, backlog at end {one['backlog_end']}, drained in "
                f"{one['drain_s']} s, p99 {one['wrk']['p99_ms']} ms, errors {one['wrk']['errors']}, "
                f"cpu {one['wrk']['cpu']}, write gate {one['write_gate']}")
            return one

        runs, discarded = await clean_runs(args.runs, attempt,
                                           others=lambda r: float(r["wrk"]["cpu"]["other_cores"]),
                                           extra_attempts=args.extra_attempts)
        result["discarded_runs"] = discarded
        posts_s = median([r["posts_s"] for r in runs])
        sustained = [r["sustained_posts_s"] for r in runs if r["sustained_posts_s"] is not None]
        result.update({
            "posts_s_median": posts_s,
            "sustained_posts_s_median": median(sustained) if len(sustained) == len(runs) else None,
            "backlog_end_median": median([r["backlog_end"] for r in runs]),
            "drain_s_median": median([r["drain_s"] for r in runs]),
            "p50_ms_median": median([r["wrk"]["p50_ms"] for r in runs]),
            "p99_ms_median": median([r["wrk"]["p99_ms"] for r in runs]),
            "errors_total": sum(sum(r["wrk"]["errors"].values()) for r in runs),
            "all_delivered": all(r["newest_50_fully_delivered"] for r in runs),
            "runs_detail": runs,
        })
        if args.db == "postgres":
            result["target_posts_s"] = TARGET_POSTS_S
            keeps_up = result["sustained_posts_s_median"] or 0.0
            result["met"] = posts_s >= TARGET_POSTS_S and keeps_up >= TARGET_POSTS_S and result["all_delivered"]
            result["ratio_to_target"] = round(min(posts_s, keeps_up) / TARGET_POSTS_S, 2)
        if args.profile:
            profiler = Profiler(Path(args.profile), f"posting-{args.db}")
            sampler = ActivitySampler(db)
            profiler.start(server.worker_pids())
            sampler.start()
            profiled = await one_run(raw, server, args, tokens_file, bench.workdir, args.followers, args.duration)
            result["profile"] = {"run": profiled, "python": profiler.stop(), "database": await sampler.stop()}
            try:
                result["profile"]["statements"] = await statements_per_request(
                    db, bench.workdir, "POST", "/api/v1/statuses", accounts.token_list()[0],
                    {"status": "Counting the statements of one post"})
            except Exception as exc:  # a diagnostic must not cost the figures
                result["profile"]["statements"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        result["failed_jobs"] = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NOT NULL"))
        result["memory_end"] = server.memory()
        result["server_log_errors"] = server.log_errors()
        result["timings"] = bench.timings
        await raw.close()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"posting failed: {result['error']}")
    finally:
        await bench.close()
    return result


def main() -> None:
    parser = base_parser(__doc__ or "")
    add_server_settings(parser)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--posters", type=int, default=100)
    parser.add_argument("--followers", type=int, default=200, help="followers of each poster")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of posting per measured run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--extra-attempts", type=int, default=3,
                        help="more runs allowed to replace runs disturbed by other work on the machine")
    parser.add_argument("--drain-timeout", type=float, default=180.0, help="longest wait for the backlog to drain")
    args = parser.parse_args()
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
