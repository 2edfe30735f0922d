"""Drill 3: measure the capacity for a mixed workload, then offer three times that; count from the client.

Workload (the same in both phases): posts by signed-in posters (priority 0), home timelines of signed-in
readers (priority 1) and anonymous public timelines (priority 2), each request on a new connection. Rate
limits apply as to remote clients (``STARLING_RATE_LIMIT_LOOPBACK_EXEMPT=false``): every request comes
from its own source address in 127.77.0.0/16 and the tokens are spread so that no account and no address
goes past Mastodon's 300 requests per 5 minutes. Every client therefore stays within its limit, and a
429 would be a failure of the limits, not of the client.

1. **Capacity**: closed loop (each client waits for its answer) at growing concurrency; the peak is the
   highest rate of fresh good answers (2xx from the application within 1 s) among the steps whose admitted
   p99 stayed under 1 s. Stale copies do not count towards capacity: the cache answers only for requests
   that admission refused, so a step where they appear is already past what the server can serve.
2. **Overload**: open loop at 3× the peak (requests are sent on schedule whatever happens, as independent
   people would) for ``--seconds``; the first ``--settle`` seconds are not counted.

Pass: no server process died or was replaced and it answers afterwards; admitted requests (answered by the
application, not shed, not stale) have p99 under 1 s; shed requests got their 503 within 50 ms (p99);
at least 99% of posts succeeded; goodput (2xx within 1 s, stale copies included) is at least 80% of the
peak; and the generator really offered about 3× (else the run proves nothing).

    python -m bench.drills.overload --db sqlite
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import CpuMeter, Raw, add_server_settings, log, server_settings, wait_for_quiet
from bench.drills.common import Workspace, drill_parser, finish, header, print_figures
from bench.drills.load import GeneratorSpec, latency_figures, ms, percentile, run_generators, source_ips
from bench.scrape import WRITE_GATE, between, histogram, metrics_text
from bench.seed import Seeder

MIX = {"post": 5.0, "home": 35.0, "public": 60.0}
GOOD_LATENCY = 1.0
RATE_LIMIT = 300


async def seed_accounts(raw: Raw, posters: int, readers: int) -> tuple[list[str], list[str]]:
    seeder = Seeder(raw)
    await seeder.begin()
    poster_accounts = await seeder.accounts(posters, "poster")
    reader_accounts = await seeder.accounts(readers, "reader")
    rng = random.Random(3)
    pairs = [(r, p) for r in reader_accounts.ids for p in rng.sample(poster_accounts.ids, min(10, posters))]
    await seeder.follows(pairs)
    status_ids = await seeder.statuses(poster_accounts.ids, 20 * posters, span_days=2)
    await seeder.home_feed_from_follows(reader_accounts.ids, status_ids[0])
    await seeder.refresh_counters()
    await seeder.finish()
    return poster_accounts.token_list(), reader_accounts.token_list()


def analyse(records: list[list[Any]], start: float, end: float) -> dict[str, Any]:
    """Figures for requests scheduled in [start, end) seconds; record = kind, sched, started, latency, status,
    stale, error."""
    chosen = [r for r in records if start <= r[1] < end]
    seconds = max(1e-6, end - start)
    fresh_ok = [r for r in chosen if 200 <= r[4] < 300 and not r[5]]
    stale = [r for r in chosen if r[4] == 200 and r[5]]
    shed = [r for r in chosen if r[4] == 503]
    limited = [r for r in chosen if r[4] == 429]
    errors = [r for r in chosen if r[4] == 0]
    server_errors = [r for r in chosen if r[4] >= 500 and r[4] != 503]
    admitted = [r for r in chosen if r[4] and r[4] not in (503, 429) and not r[5]]
    good = [r for r in fresh_ok + stale if r[3] <= GOOD_LATENCY]
    posts = [r for r in chosen if r[0] == "post"]
    by_kind: dict[str, dict[str, int]] = {}
    for r in chosen:
        label = r[6] or ("stale" if r[5] else str(r[4]))
        row = by_kind.setdefault(r[0], {})
        row[label] = row.get(label, 0) + 1
    lag = [r[2] - r[1] for r in chosen]
    return {
        "requests": len(chosen),
        "offered_per_s": round(len(chosen) / seconds, 1),
        "good_per_s": round(len(good) / seconds, 1),
        "fresh_good_per_s": round(sum(1 for r in fresh_ok if r[3] <= GOOD_LATENCY) / seconds, 1),
        "stale_per_s": round(len(stale) / seconds, 1),
        "shed_per_s": round(len(shed) / seconds, 1),
        "rate_limited": len(limited),
        "server_errors": len(server_errors),
        "connection_errors": len(errors),
        "error_kinds": _count(r[6] for r in errors),
        "admitted_latency": latency_figures([r[3] for r in admitted]),
        "admitted_latency_by_kind": {k: latency_figures([r[3] for r in admitted if r[0] == k])
                                     for k in ("post", "home", "public")},
        "shed_latency": latency_figures([r[3] for r in shed]),
        "shed_latency_by_kind": {k: latency_figures([r[3] for r in shed if r[0] == k])
                                 for k in ("post", "home", "public")},
        "stale_latency": latency_figures([r[3] for r in stale]),
        "posts": len(posts),
        "posts_ok": sum(1 for r in posts if 200 <= r[4] < 300),
        "by_kind": by_kind,
        "schedule_lag_p99_ms": ms(percentile(lag, 99)),
    }


def scrape(text: str) -> dict[str, dict[str, float]]:
    """Request-duration buckets summed over routes into admitted / shed / stale, the entry delay, the shed
    counters and the write gate's histograms."""
    out: dict[str, dict[str, float]] = {"admitted": {}, "shed": {}, "stale": {}, "shed_total": {},
                                        "entry": histogram(text, "starling_admission_entry_delay_seconds")}
    for key, name in WRITE_GATE.items():
        out[f"gate_{key}"] = histogram(text, name)
    for line in text.splitlines():
        if line.startswith("starling_http_request_duration_seconds_bucket{"):
            labels, _, value = line.rpartition(" ")
            route = labels.split('route="', 1)[1].split('"', 1)[0]
            le = labels.split('le="', 1)[1].split('"', 1)[0]
            if route.startswith(("/health", "/metrics")) or route == "<ratelimited>":
                continue
            group = "shed" if route == "<shed>" else "stale" if route == "<stale>" else "admitted"
            out[group][le] = out[group].get(le, 0.0) + float(value)
        elif line.startswith("starling_requests_shed_total{"):
            labels, _, value = line.rpartition(" ")
            key = labels[len("starling_requests_shed_total"):]
            out["shed_total"][key] = out["shed_total"].get(key, 0.0) + float(value)
    return out


def server_side(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Counts and bucket-bounded percentiles, as the server measured them, between two scrapes."""
    figures: dict[str, Any] = {group: between(before[group], after[group])
                               for group in ("admitted", "shed", "stale", "entry", "gate_wait", "gate_held")}
    figures["shed_by_priority_reason"] = {k: int(v - before["shed_total"].get(k, 0.0))
                                          for k, v in after["shed_total"].items()
                                          if v - before["shed_total"].get(k, 0.0) > 0}
    return figures


async def get_metrics(base_url: str) -> dict[str, dict[str, float]] | None:
    """The server's own figures, or None when /metrics does not answer in time (it reads the database)."""
    text = await metrics_text(base_url)
    if text is None:
        log("/metrics did not answer")
        return None
    return scrape(text)


def accept_queue(port: int) -> int | None:
    """Connections waiting in the kernel's accept queue of the listening socket on ``port`` (Linux: the
    rx_queue of a LISTEN row of /proc/net/tcp is the accept queue's length), or None if not found."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        fields = row.split()
        if len(fields) > 4 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            return int(fields[4].split(":")[1], 16)
    return None


class AcceptQueueSampler:
    """Samples the accept queue every ``interval`` seconds on a thread, for the figures."""

    def __init__(self, port: int, interval: float = 0.25) -> None:
        self.port = port
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            value = accept_queue(self.port)
            if value is not None:
                self.samples.append(value)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=5)
        if not self.samples:
            return {"samples": 0}
        ordered = sorted(self.samples)
        return {"samples": len(ordered), "max": ordered[-1], "p50": ordered[len(ordered) // 2],
                "mean": round(sum(ordered) / len(ordered), 1)}


def _count(values: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for v in values:
        found[str(v)] = found.get(str(v), 0) + 1
    return found


def slices(tokens: list[str], parts: int) -> list[list[str]]:
    return [tokens[i::parts] for i in range(parts)]


async def run_drill(backend: str, *, workers: int = 2, factor: float = 3.0, seconds: float = 30.0,
                    settle: float = 3.0, step_seconds: float = 8.0, levels: tuple[int, ...] = (4, 8, 16, 32, 64),
                    generators: int = 2, seed: int = 1, keep: bool = False, quiet_wait: float = 60.0,
                    server_env: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, bool]]:
    ws = Workspace("overload", backend, keep=keep)
    result: dict[str, Any] = {"workers": workers, "factor": factor, "overload_seconds": seconds, "settle_s": settle,
                              "mix": MIX, "capacity_levels": list(levels), "step_seconds": step_seconds,
                              "generator_processes": generators, "rate_limits": "on, loopback not exempt"}
    try:
        db = await ws.create_db()
        (ws.workdir / "prometheus").mkdir()
        env = ws.env({"STARLING_RATE_LIMIT_LOOPBACK_EXEMPT": "false",
                      "PROMETHEUS_MULTIPROC_DIR": str(ws.workdir / "prometheus"), **(server_env or {})})
        result["server_env"] = server_env or {}
        await asyncio.to_thread(ws.migrate, env)
        raw = await db.connect()
        posters, readers = await seed_accounts(raw, 200, 600)
        await raw.close()
        server = ws.server(env, workers)
        await server.start()
        pids_before = sorted(server.worker_pids())
        master = server.proc.pid if server.proc else 0
        ips = source_ips(6000)
        ip_offset = 0
        used_per_token = 0
        used_per_ip = 0

        def specs(mode: str, *, rate: float = 0.0, concurrency: int = 0, length: float) -> list[GeneratorSpec]:
            nonlocal ip_offset
            parts = generators if mode == "open" else 1
            start_at = time.time() + 1.0
            block = ips[ip_offset:] + ips[:ip_offset]
            ip_offset = (ip_offset + 997) % len(ips)
            poster_parts, reader_parts = slices(posters, parts), slices(readers, parts)
            return [GeneratorSpec(host="127.0.0.1", port=server.port, mode=mode, seconds=length, start_at=start_at,
                                  mix=MIX, poster_tokens=poster_parts[i], reader_tokens=reader_parts[i],
                                  source_ips=block[i::parts], rate=rate / parts, concurrency=concurrency,
                                  seed=seed * 100 + i)
                    for i in range(parts)]

        steps: list[dict[str, Any]] = []
        result["others_cores_before_capacity"] = await wait_for_quiet(quiet_wait, exclude=server.pids())
        for level in levels:
            merged = await asyncio.to_thread(run_generators, specs("closed", concurrency=level,
                                                                   length=step_seconds), ws.workdir)
            figures = analyse(merged["records"], 1.0, step_seconds)
            used_per_token += merged["max_per_token"]
            used_per_ip += merged["max_per_ip"]
            steps.append({"concurrency": level, **{k: figures[k] for k in (
                "offered_per_s", "good_per_s", "fresh_good_per_s", "stale_per_s", "shed_per_s", "rate_limited",
                "connection_errors")}, "admitted_p99_ms": figures["admitted_latency"]["p99_ms"],
                "generator_cpu_s": merged["generator_cpu_s"]})
            log(f"capacity step c={level}: {figures['good_per_s']} good/s ({figures['fresh_good_per_s']} fresh), "
                f"p99 {figures['admitted_latency']['p99_ms']} ms, shed {figures['shed_per_s']}/s")
            await asyncio.sleep(1.0)
        within = [s for s in steps if s["admitted_p99_ms"] is not None and s["admitted_p99_ms"] < 1000]
        peak_step = max(within or steps, key=lambda s: s["fresh_good_per_s"])
        peak = peak_step["fresh_good_per_s"]
        target = factor * peak
        log(f"peak {peak} fresh good answers/s at c={peak_step['concurrency']}; offering {target:.0f} requests/s")
        result["others_cores_before_overload"] = await wait_for_quiet(quiet_wait, exclude=server.pids())
        started = time.monotonic()
        scraped_before = await get_metrics(server.base_url)
        meter = CpuMeter(server)
        meter.start()
        sampler = AcceptQueueSampler(server.port)
        sampler.start()
        merged = await asyncio.to_thread(run_generators, specs("open", rate=target, length=seconds), ws.workdir)
        result["accept_queue"] = sampler.stop()
        result["overload_cpu"] = meter.stop(merged["generator_cpu_s"], "generator")
        overload_wall = time.monotonic() - started
        scraped_after = await get_metrics(server.base_url)
        server_figures = (server_side(scraped_before, scraped_after) if scraped_before and scraped_after
                          else {"error": "/metrics did not answer"})
        used_per_token += merged["max_per_token"]
        used_per_ip += merged["max_per_ip"]
        overload = analyse(merged["records"], settle, seconds)
        overload["generator_cpu_s"] = merged["generator_cpu_s"]
        overload["generator_overflow"] = merged["overflow"]
        overload["generator_loop_lag"] = latency_figures(merged["loop_lags"])
        overload["generator_scheduling"] = merged.get("scheduling")
        log(f"overload: offered {overload['offered_per_s']}/s, good {overload['good_per_s']}/s, "
            f"shed {overload['shed_per_s']}/s, admitted p99 {overload['admitted_latency']['p99_ms']} ms")

        await asyncio.sleep(3.0)
        after = await asyncio.to_thread(run_generators, specs("closed", concurrency=peak_step["concurrency"],
                                                              length=5.0), ws.workdir)
        after_figures = analyse(after["records"], 1.0, 5.0)
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                live = (await client.get(f"{server.base_url}/health/live")).status_code
        except httpx.HTTPError:
            live = 0
        pids_after = sorted(server.worker_pids())
        alive = server.proc is not None and server.proc.poll() is None
        result.update({
            "capacity_steps": steps,
            "peak_good_per_s": peak,
            "peak_concurrency": peak_step["concurrency"],
            "target_offered_per_s": round(target, 1),
            "overload": overload,
            "overload_wall_s": round(overload_wall, 1),
            "overload_server_side": server_figures,
            "after_overload": {k: after_figures[k] for k in ("good_per_s", "fresh_good_per_s", "shed_per_s")},
            "health_live_after": live,
            "server_processes_same": pids_before == pids_after,
            "master_alive": alive,
            "max_requests_per_token": used_per_token,
            "max_requests_per_address": used_per_ip,
            "server_log_errors": server.log_errors(5),
        })
        admitted_p99 = overload["admitted_latency"]["p99_ms"]
        shed_p99 = overload["shed_latency"]["p99_ms"]
        posts, posts_ok = overload["posts"], overload["posts_ok"]
        checks = {
            "offered_about_3x": overload["offered_per_s"] >= 0.9 * target,
            "clients_within_rate_limits": used_per_token < RATE_LIMIT and used_per_ip < RATE_LIMIT,
            "no_crash": alive and pids_before == pids_after and live == 200 and master > 0,
            "admitted_p99_under_1s": admitted_p99 is not None and admitted_p99 < 1000,
            "shed_503_p99_under_50ms": shed_p99 is None or shed_p99 < 50,
            "posting_success_at_least_99pct": posts > 0 and posts_ok >= 0.99 * posts,
            "goodput_at_least_80pct_of_peak": overload["good_per_s"] >= 0.8 * peak,
        }
        return result, checks
    finally:
        await ws.close()


def main() -> None:
    parser = drill_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--factor", type=float, default=3.0, help="offered load, as a multiple of the peak")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the overload phase")
    parser.add_argument("--settle", type=float, default=3.0, help="first seconds of the overload not counted")
    parser.add_argument("--step-seconds", type=float, default=8.0, help="length of each capacity step")
    parser.add_argument("--levels", default="4,8,16,32,64", help="concurrency of the capacity steps")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes in the overload")
    parser.add_argument("--quiet-wait", type=float, default=60.0,
                        help="before each phase, wait up to this many seconds for the machine to be idle")
    add_server_settings(parser)
    args = parser.parse_args()
    result = header("overload", args)
    drill, checks = asyncio.run(run_drill(
        args.db, workers=args.workers, factor=args.factor, seconds=args.seconds, settle=args.settle,
        step_seconds=args.step_seconds, levels=tuple(int(x) for x in args.levels.split(",")),
        generators=args.generators, seed=args.seed, keep=args.keep, quiet_wait=args.quiet_wait,
        server_env=server_settings(args.env)))
    result.update(drill)
    o = drill["overload"]
    print_figures("overload", {
        "capacity steps": "; ".join(
            f"c={s['concurrency']}: {s['good_per_s']} good/s (fresh {s['fresh_good_per_s']}, stale "
            f"{s['stale_per_s']}, shed {s['shed_per_s']}/s), p99 {s['admitted_p99_ms']} ms"
            for s in drill["capacity_steps"]),
        "peak": f"{drill['peak_good_per_s']} fresh good answers/s (c={drill['peak_concurrency']})",
        "offered": f"{o['offered_per_s']}/s (target {drill['target_offered_per_s']}/s, schedule lag p99 "
                   f"{o['schedule_lag_p99_ms']} ms, generator CPU {o['generator_cpu_s']} s)",
        "generator's own event loop, lateness of a 5 ms timer": o["generator_loop_lag"],
        "generator's scheduling": o["generator_scheduling"],
        "goodput": f"{o['good_per_s']}/s = {round(100 * o['good_per_s'] / max(drill['peak_good_per_s'], 1e-6))}% "
                   f"of peak (fresh {o['fresh_good_per_s']}/s, stale {o['stale_per_s']}/s)",
        "shed": f"{o['shed_per_s']}/s, latency {o['shed_latency']}",
        "shed latency by kind": o["shed_latency_by_kind"],
        "as the server measured (whole overload phase)": drill["overload_server_side"],
        "kernel accept queue during the overload (connections)": drill["accept_queue"],
        "CPU during the overload (cores)": {k: v for k, v in drill["overload_cpu"].items()
                                            if k != "server_processes_cores"},
        "other work on the machine before the phases (cores)": (drill["others_cores_before_capacity"],
                                                               drill["others_cores_before_overload"]),
        "admitted latency": o["admitted_latency"],
        "admitted latency by kind": o["admitted_latency_by_kind"],
        "posts": f"{o['posts_ok']}/{o['posts']} succeeded",
        "429 / 5xx other than 503 / no answer": f"{o['rate_limited']} / {o['server_errors']} / "
                                                f"{o['connection_errors']} {o['error_kinds']}",
        "by kind": o["by_kind"],
        "after the overload": drill["after_overload"],
        "server": f"same processes {drill['server_processes_same']}, /health/live {drill['health_live_after']}",
        "most requests by one token / one address": f"{drill['max_requests_per_token']} / "
                                                    f"{drill['max_requests_per_address']} (limit {RATE_LIMIT})",
    })
    sys.exit(finish(result, checks))


if __name__ == "__main__":
    main()
