"""Fan-out latency: one post by an account with N local followers, until it is in all N home feeds.

Measured from the moment the POST /api/v1/statuses response arrives to the moment
``SELECT count(*) FROM home_feed WHERE status_id = ? AND account_id <> author`` reaches N, polled
directly in the database every few milliseconds (until the first entry shows, a cheap
``SELECT 1 … LIMIT 1`` probe is polled instead, so polling does not compete with the fan-out). Each run
is one post; runs wait until the job queue is empty before posting.

    python -m bench.fanout --db postgres --runs 3 --followers 15000,100000
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    ActivitySampler,
    Bench,
    CpuMeter,
    Profiler,
    Raw,
    add_server_settings,
    base_parser,
    clean_runs,
    emit,
    iso_now,
    log,
    machine_info,
    median,
    server_settings,
    wait_for_quiet,
)
from bench.seed import Seeder

TARGET_S = {"postgres": 0.5, "sqlite": 1.5}
TARGET_FOLLOWERS = 15_000
WARMUP_FOLLOWERS = 50


async def wait_for_jobs(raw: Raw, limit_s: float) -> tuple[int, float]:
    started = time.monotonic()
    while True:
        left = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NULL"))
        if left == 0 or time.monotonic() - started > limit_s:
            return left, time.monotonic() - started
        await asyncio.sleep(0.05)


async def one_post(
    client: httpx.AsyncClient, raw: Raw, *, token: str, author_id: int, followers: int, poll_s: float, limit_s: float
) -> dict[str, Any]:
    sent = time.monotonic()
    response = await client.post(
        "/api/v1/statuses", json={"status": f"Fan-out benchmark post at {iso_now()}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    answered = time.monotonic()
    if response.status_code != 200:
        raise RuntimeError(f"POST /api/v1/statuses answered {response.status_code}: {response.text[:300]}")
    status_id = int(response.json()["id"])
    first: float | None = None
    count = 0
    polls = 0
    while True:
        # A cheap probe until the first entry shows, then the full count: the probe keeps the polling
        # from competing with the fan-out for the database's CPU.
        if first is None and not await raw.fetchval(
                "SELECT 1 FROM home_feed WHERE status_id = ? AND account_id <> ? LIMIT 1", status_id, author_id):
            count = 0
        else:
            count = int(await raw.fetchval(
                "SELECT count(*) FROM home_feed WHERE status_id = ? AND account_id <> ?", status_id, author_id))
        polls += 1
        now = time.monotonic()
        if count and first is None:
            first = now
        if count >= followers or now - answered > limit_s:
            break
        await asyncio.sleep(poll_s)
    done = time.monotonic()
    return {
        "followers": followers,
        "delivered": count,
        "complete": count >= followers,
        "fanout_s": round(done - answered, 4),
        "fanout_from_request_s": round(done - sent, 4),
        "first_entry_s": round(first - answered, 4) if first is not None else None,
        "post_ms": round(1000 * (answered - sent), 1),
        "polls": polls,
    }


async def run(args: Any) -> dict[str, Any]:
    sizes = sorted({int(x) for x in str(args.followers).split(",") if x.strip()})
    bench = Bench("fanout", args.db, args.workers, keep=args.keep, settings=server_settings(args.env))
    result: dict[str, Any] = {"benchmark": "fanout", "db": args.db, "workers": args.workers, "runs": args.runs,
                              "started": iso_now(), "machine": machine_info()}
    try:
        db, raw = await bench.prepare()
        seeder = Seeder(raw)
        await seeder.begin()
        seed_started = time.monotonic()
        pool = await seeder.accounts(max(sizes), "fan", tokens=False)
        authors = await seeder.accounts(len(sizes) + 1, "author")
        pairs = [(pool.ids[i], authors.ids[0]) for i in range(WARMUP_FOLLOWERS)]
        for k, size in enumerate(sizes, start=1):
            pairs.extend((pool.ids[i], authors.ids[k]) for i in range(size))
        await seeder.follows(pairs)
        await seeder.refresh_counters()
        await seeder.finish()
        result["seed"] = {**seeder.timings, "total_s": round(time.monotonic() - seed_started, 2),
                          "accounts": max(sizes) + len(sizes) + 1, "follows": len(pairs)}
        server = await bench.start_server()
        result["memory_start"] = server.memory()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            for _ in range(3):
                await one_post(client, raw, token=authors.token_list()[0], author_id=authors.ids[0],
                               followers=WARMUP_FOLLOWERS, poll_s=args.poll_ms / 1000, limit_s=args.timeout)
                await wait_for_jobs(raw, args.timeout)
            per_size: dict[str, Any] = {}
            for k, size in enumerate(sizes, start=1):
                token = authors.tokens[k]
                assert token is not None

                async def attempt(i: int, k: int = k, size: int = size, token: str = token) -> dict[str, Any]:
                    left, _waited = await wait_for_jobs(raw, args.timeout)
                    others = await wait_for_quiet(args.quiet_wait, exclude=server.pids())
                    meter = CpuMeter(server)
                    meter.start()
                    own = time.process_time()
                    one = await one_post(client, raw, token=token, author_id=authors.ids[k], followers=size,
                                         poll_s=args.poll_ms / 1000, limit_s=args.timeout)
                    one["cpu"] = meter.stop(time.process_time() - own, "driver")
                    one["backlog_before"] = left
                    one["others_cores_before"] = others
                    log(f"fanout {size} run {i + 1}: {one}")
                    return one

                runs, discarded = await clean_runs(
                    args.runs, attempt, others=lambda r: float(r["cpu"]["other_cores"]),
                    extra_attempts=args.extra_attempts)
                times = [r["fanout_s"] for r in runs]
                entry: dict[str, Any] = {
                    "fanout_s_median": round(median(times), 4),
                    "fanout_s_min": min(times),
                    "fanout_s_max": max(times),
                    "fanout_from_request_s_median": round(median([r["fanout_from_request_s"] for r in runs]), 4),
                    "post_ms_median": round(median([r["post_ms"] for r in runs]), 1),
                    "all_complete": all(r["complete"] for r in runs),
                    "runs": runs,
                    "discarded_runs": discarded,
                }
                if size == TARGET_FOLLOWERS:
                    target = TARGET_S[args.db]
                    entry["target_s"] = target
                    entry["met"] = entry["all_complete"] and entry["fanout_s_median"] <= target
                    entry["ratio_to_target"] = round(entry["fanout_s_median"] / target, 2)
                if args.profile:
                    await wait_for_jobs(raw, args.timeout)
                    profiler = Profiler(Path(args.profile), f"fanout-{args.db}-{size}")
                    sampler = ActivitySampler(db)
                    profiler.start(server.worker_pids())
                    sampler.start()
                    await asyncio.sleep(0.5)
                    profiled = await one_post(client, raw, token=token, author_id=authors.ids[k], followers=size,
                                              poll_s=args.poll_ms / 1000, limit_s=args.timeout)
                    await asyncio.sleep(0.2)
                    entry["profile"] = {"run": profiled, "python": profiler.stop(), "database": await sampler.stop()}
                per_size[str(size)] = entry
            await wait_for_jobs(raw, args.timeout)
        result["sizes"] = per_size
        result["memory_end"] = server.memory()
        result["server_log_errors"] = server.log_errors()
        result["failed_jobs"] = int(await raw.fetchval("SELECT count(*) FROM jobs WHERE failed_at IS NOT NULL"))
        result["timings"] = bench.timings
        await raw.close()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(f"fanout failed: {result['error']}")
    finally:
        await bench.close()
    return result


def main() -> None:
    parser = base_parser(__doc__ or "")
    add_server_settings(parser)
    parser.add_argument("--followers", default="15000,100000", help="comma-separated follower counts")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="pause between database polls")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up on one post after this long")
    parser.add_argument("--extra-attempts", type=int, default=3,
                        help="more runs allowed to replace runs disturbed by other work on the machine")
    args = parser.parse_args()
    emit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
