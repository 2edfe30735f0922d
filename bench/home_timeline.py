"""Home timeline reads: GET /api/v1/timelines/home?limit=20 for random users, full Mastodon entities.

Data: 10,000 accounts, each following 200 others chosen at random, 1,000,000 public statuses spread
round-robin over the accounts (100 each) across 30 days. Home feeds are filled as fan-out would have
filled them, capped at the newest 800 entries per account: with round-robin authors that is exactly the
statuses of the followed accounts in the newest 4 rounds (4 x 200 = 800 entries, 8,000,000 rows).

Load: wrk (C, one thread, 32 connections) with a Lua script that picks a random user's token for every
request; a 3 s warm-up, then N measured runs of 20 s each against the same server.

    python -m bench.home_timeline --db postgres --runs 3
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ActivitySampler,
    Bench,
    Profiler,
    add_server_settings,
    base_parser,
    clean_runs,
    db_size_mb,
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
from bench.seed import Seeder

PATH = "/api/v1/timelines/home?limit=20"
TARGET_RPS = 2000.0
TARGET_P99_MS = 50.0


def check_entities(body: Any, limit: int) -> dict[str, Any]:
    """A sample response must be a full page of full status entities."""
    problems = []
    if not isinstance(body, list):
        return {"ok": False, "problems": ["not a list"]}
    if len(body) != limit:
        problems.append(f"{len(body)} statuses instead of {limit}")
    needed = ("id", "created_at", "content", "visibility", "uri", "url", "account", "media_attachments",
              "mentions", "tags", "emojis", "reblogs_count", "favourites_count", "replies_count")
    for item in body[:limit]:
        missing = [k for k in needed if k not in item]
        if missing:
            problems.append(f"status missing {missing}")
            break
        account = item["account"]
        if not isinstance(account, dict) or not {"id", "username", "acct", "avatar", "followers_count"} <= set(account):
            problems.append("account entity incomplete")
            break
    ids = [int(s["id"]) for s in body if isinstance(s, dict) and "id" in s]
    if ids != sorted(ids, reverse=True):
        problems.append("not newest first")
    return {"ok": not problems, "problems": problems, "statuses": len(body)}


async def run(args: Any) -> dict[str, Any]:
    bench = Bench("home_timeline", args.db, args.workers, keep=args.keep, settings=server_settings(args.env))
    result: dict[str, Any] = {"benchmark": "home_timeline", "db": args.db, "workers": args.workers,
                              "runs": args.runs, "started": iso_now(), "machine": machine_info(),
                              "load_generator": f"wrk -t{args.wrk_threads} -c{args.connections}, Lua: random token "
                                                "per request"}
    try:
        db, raw = await bench.prepare()
        seeder = Seeder(raw)
        await seeder.begin()
        seed_started = time.monotonic()
        users = await seeder.accounts(args.accounts, "u")
        rng = random.Random(20261125)
        population = range(args.accounts)
        pairs: list[tuple[int, int]] = []
        for i in population:
            targets = rng.sample(population, args.follows + 1)
            pairs.extend([(users.ids[i], users.ids[t]) for t in targets if t != i][: args.follows])
        await seeder.follows(pairs)
        ids = await seeder.statuses(users.ids, args.statuses)
        rounds = max(1, args.feed_cap // args.follows)
        first = max(0, len(ids) - rounds * args.accounts)
        feed_rows = await seeder.home_feed_from_follows(users.ids, ids[first])
        await seeder.refresh_counters()
        await seeder.finish()
        result["seed"] = {**seeder.timings, "total_s": round(time.monotonic() - seed_started, 2),
                          "accounts": args.accounts, "follows": len(pairs), "statuses": len(ids),
                          "home_feed_rows": feed_rows, "feed_cap_per_account": rounds * args.follows,
                          "db_size_mb": await db_size_mb(db, raw)}
        log(f"seed: {result['seed']}")
        tokens_file = users.write_tokens(bench.workdir / "tokens.txt")
        server = await bench.start_server()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            response = await client.get(PATH, headers={"Authorization": f"Bearer {users.tokens[0]}"})
            if response.status_code != 200:
                raise RuntimeError(f"GET {PATH} answered {response.status_code}: {response.text[:300]}")
            result["sample_check"] = check_entities(response.json(), 20)
            result["sample_bytes"] = len(response.content)

        def load(duration: float) -> dict[str, Any]:
            return run_wrk(server.base_url, PATH, tokens_file=tokens_file, duration=duration,
                           connections=args.connections, threads=args.wrk_threads, server=server,
                           workdir=bench.workdir).as_dict()

        warm = await asyncio.to_thread(load, args.warmup)
        log(f"warm-up: {warm['rps']} req/s")

        async def attempt(i: int) -> dict[str, Any]:
            others = await wait_for_quiet(args.quiet_wait, exclude=server.pids())
            one = await asyncio.to_thread(load, args.duration)
            one["others_cores_before"] = others
            one["server_rss_mb"] = server.memory()["rss_mb"]
            log(f"run {i + 1}: {one['rps']} req/s p50 {one['p50_ms']} ms p99 {one['p99_ms']} ms "
                f"errors {one['errors']} wrk cpu {one['wrk_cpu_pct']}% cpu {one['cpu']}")
            return one

        runs, discarded = await clean_runs(args.runs, attempt, others=lambda r: float(r["cpu"]["other_cores"]),
                                           extra_attempts=args.extra_attempts)
        result["discarded_runs"] = discarded
        rps = median([r["rps"] for r in runs])
        p99 = median([r["p99_ms"] for r in runs])
        result.update({
            "rps_median": rps,
            "p50_ms_median": median([r["p50_ms"] for r in runs]),
            "p99_ms_median": p99,
            "errors_total": sum(sum(r["errors"].values()) for r in runs),
            "requests_total": sum(r["requests"] for r in runs),
            "wrk_cpu_pct_max": max(r["wrk_cpu_pct"] for r in runs),
            "runs_detail": runs,
        })
        if args.db == "postgres":
            result["target"] = {"rps": TARGET_RPS, "p99_ms": TARGET_P99_MS}
            result["met"] = rps >= TARGET_RPS and p99 <= TARGET_P99_MS and result["errors_total"] == 0
            result["rps_ratio_to_target"] = round(rps / TARGET_RPS, 2)
            result["p99_ratio_to_target"] = round(p99 / TARGET_P99_MS, 2)
        if args.profile:
            profiler = Profiler(Path(args.profile), f"home_timeline-{args.db}")
            sampler = ActivitySampler(db)
            profiler.start(server.worker_pids())
            sampler.start()
            profiled = await asyncio.to_thread(load, args.duration)
            result["profile"] = {"run": profiled, "python": profiler.stop(), "database": await sampler.stop()}
            try:
                result["profile"]["statements"] = await statements_per_request(
                    db, bench.workdir, "GET", PATH, users.token_list()[1])
            except Exception as exc:  # a diagnostic must not cost the figures
                result["profile"]["statements"] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        result["memory_end"] = server.memory()
        result["server_log_errors"] = server.log_errors()
        result["timings"] = bench.timings
        await raw.close()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"home_timeline failed: {result['error']}")
    finally:
        await bench.close()
    return result


def main() -> None:
    parser = base_parser(__doc__ or "")
    add_server_settings(parser)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--follows", type=int, default=200, help="accounts each account follows")
    parser.add_argument("--statuses", type=int, default=1_000_000)
    parser.add_argument("--feed-cap", type=int, default=800, help="home feed entries kept per account")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--extra-attempts", type=int, default=3,
                        help="more runs allowed to replace runs disturbed by other work on the machine")
    args = parser.parse_args()
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
