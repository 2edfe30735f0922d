"""Run every benchmark (each in its own process) and print one JSON summary line.

    python -m bench.run_all                      # both backends when PostgreSQL answers, else SQLite only
    python -m bench.run_all --db postgres --only fanout,home_timeline --runs 3 --out results.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.common import PG_ADMIN_URL, ROOT, emit, iso_now, log, machine_info

BENCHMARKS = ["memory", "fanout", "posting", "home_timeline"]
# Figures lifted into the summary; the full results stay under "results".
HEADLINES = {
    "memory": ["idle_rss_mb_median", "target_idle_mb", "met"],
    "fanout": [],
    "posting": ["posts_s_median", "sustained_posts_s_median", "backlog_end_median", "drain_s_median",
                "p99_ms_median", "errors_total", "all_delivered", "met"],
    "home_timeline": ["rps_median", "p50_ms_median", "p99_ms_median", "errors_total", "wrk_cpu_pct_max", "met"],
}


async def postgres_answers() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def run_one(name: str, db: str, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", f"bench.{name}", "--db", db, *extra]
    log(f"running: {' '.join(cmd[1:])}")
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=None, timeout=3 * 3600, check=False)
    lines = [line for line in proc.stdout.decode(errors="replace").splitlines() if line.strip()]
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"no JSON result (exit {proc.returncode})"}
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def headline(name: str, result: dict[str, Any]) -> dict[str, Any]:
    if "error" in result:
        return {"error": result["error"]}
    if name == "fanout":
        return {size: {k: v for k, v in entry.items() if k != "runs" and k != "profile"}
                for size, entry in result.get("sizes", {}).items()}
    out = {k: result[k] for k in HEADLINES[name] if k in result}
    if "memory_end" in result:
        out["server_rss_mb_end"] = result["memory_end"]["rss_mb"]
    if name == "memory" and "after_load" in result:
        out["after_load_rss_mb"] = result["after_load"]["memory"]["rss_mb"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=None,
                        help="default: both when PostgreSQL answers, else sqlite")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmark names")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", metavar="DIR", default=None, help="profile one extra run of each into DIR")
    parser.add_argument("--out", metavar="FILE", default=None, help="also write the full results here")
    args = parser.parse_args()
    chosen = [b for b in args.only.split(",") if b]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {sorted(unknown)}")
    db = args.db or ("both" if asyncio.run(postgres_answers()) else "sqlite")
    backends = ["sqlite", "postgres"] if db == "both" else [db]
    extra = ["--runs", str(args.runs)]
    if args.profile:
        extra += ["--profile", str(Path(args.profile).resolve())]
    summary: dict[str, Any] = {"started": iso_now(), "machine": machine_info(), "runs": args.runs, "summary": {},
                               "results": {}}
    for name in chosen:
        # Memory is measured as `make run` starts the server: SQLite default, whatever --db says.
        for backend in (["sqlite"] if name == "memory" else backends):
            result = run_one(name, backend, extra)
            summary["results"].setdefault(name, {})[backend] = result
            summary["summary"].setdefault(name, {})[backend] = headline(name, result)
            log(f"{name} [{backend}]: {json.dumps(summary['summary'][name][backend])}")
    summary["finished"] = iso_now()
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))
    emit(summary)


if __name__ == "__main__":
    main()
