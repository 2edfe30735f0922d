"""Drill 1: rolling upgrade under load, from one commit to the next, with a migration.

Two releases are made in a temporary clone of the repository: release N is HEAD (with ``--worktree``,
HEAD plus the working tree's uncommitted ``src/``), and release N+1 is a commit on top of it that adds
an expand migration (a new table, and an index on ``statuses`` built concurrently on PostgreSQL) and a
visible code change (every answer carries ``X-Starling-Release: n+1``). The server runs release N from
the clone (``PYTHONPATH=<clone>/src``; every worker is a fresh interpreter started with that path, so a
reload imports whatever the clone holds then) with two workers, while mixed clients post, read
timelines and statuses and favourite continuously. Then the clone is switched to N+1 with ``git
checkout`` and ``starling upgrade`` runs: expand migrations online, then a rolling reload.

Pass: no failed request (no connection error, no 5xx, no unexpected 4xx), every acknowledged post
readable afterwards with ``GET /api/v1/statuses/:id``, the migration applied, and only the new code
answering at the end. When release N has the streaming API, every follower also holds an SSE stream of its
home timeline (``/api/v1/streaming/user``) through the upgrade, reconnecting with ``Last-Event-ID`` whenever
its worker drains: it must receive every acknowledged post of the accounts it follows, exactly once, and
have resumed across the reload. Without the streaming API that part is reported as not applicable.

    python -m bench.drills.rolling_upgrade --db sqlite
    python -m bench.drills.rolling_upgrade --db postgres --worktree
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, log
from bench.drills.common import Workspace, drill_parser, finish, header, print_figures, run_cli, seed_world
from bench.drills.load import Client, MixedLoad, unreadable_posts
from bench.drills.streams import ResumingStream, check_streams, streaming_available

RELEASE_HEADER = "x-starling-release"
MIGRATION_REVISION = "drill_n1"
NEW_TABLE = "drill_release_marks"
NEW_INDEX = "ix_statuses_drill_created_at"
STREAMING_NA = "not applicable: release N has no streaming API (/api/v1/streaming/health does not answer)"
STREAM_WAIT = 90.0  # seconds to wait, after the load, for the streams to receive what was fanned out

MIGRATION = '''"""drill release N+1: release marks

Expand only: a new table, and an index on statuses built without blocking writes.

Revision ID: {revision}
Revises: {down}
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from starling.migrations.helpers import create_index_concurrently

revision: str = {revision!r}
down_revision = {down_value!r}
branch_labels = None
depends_on = None
phase = "expand"


def upgrade() -> None:
    op.create_table(
        {table!r},
        sa.Column("id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("note", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_{table}"),
    )
    create_index_concurrently({index!r}, "statuses", ["created_at"])


def downgrade() -> None:
    op.drop_index({index!r}, table_name="statuses")
    op.drop_table({table!r})
'''

ASGI_CHANGE = '''

class _ReleaseHeader:
    """Release N+1 of the upgrade drill: every answer says which release made it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return

        async def marked(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-starling-release", b"n+1")]}
            await send(message)

        await self.inner(scope, receive, marked)


app.add_middleware(_ReleaseHeader)
'''


def git(clone: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Drill", "-c", "user.email=drill@starling.invalid",
                           "-c", "commit.gpgsign=false", *args], cwd=clone, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


@dataclass
class Releases:
    clone: Path
    n: str
    n1: str
    down_revision: str
    from_worktree: bool

    @property
    def src(self) -> Path:
        return self.clone / "src"


def build_releases(workdir: Path, *, from_worktree: bool) -> Releases:
    """A clone of this repository at HEAD (release N) with a commit on top (release N+1), checked out at N."""
    clone = workdir / "release"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=300,
                   capture_output=True)
    if from_worktree:
        shutil.copytree(ROOT / "src", clone / "src", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        git(clone, "add", "-A", "src")
        if git(clone, "status", "--porcelain"):
            git(clone, "commit", "-q", "-m", "release N (the working tree)")
    n = git(clone, "rev-parse", "HEAD")
    heads = subprocess.run(
        [sys.executable, "-c", "from starling import db_migrate; print(' '.join(sorted(db_migrate.expand_heads())))"],
        env={"PYTHONPATH": str(clone / "src"), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        check=True, timeout=60).stdout.split()
    down: str | tuple[str, ...] = heads[0] if len(heads) == 1 else tuple(heads)
    versions = clone / "src" / "starling" / "migrations" / "versions"
    (versions / f"9001_{MIGRATION_REVISION}.py").write_text(MIGRATION.format(
        revision=MIGRATION_REVISION, down=", ".join(heads), down_value=down, table=NEW_TABLE, index=NEW_INDEX))
    asgi = clone / "src" / "starling" / "web" / "asgi.py"
    text = asgi.read_text()
    if "from typing import Any" not in text:
        text = text.replace('"""\n', '"""\n\nfrom typing import Any\n', 1)
    asgi.write_text(text + ASGI_CHANGE)
    git(clone, "add", "-A", "src")
    git(clone, "commit", "-q", "-m", "release N+1: release marks table, statuses index, release header")
    n1 = git(clone, "rev-parse", "HEAD")
    git(clone, "checkout", "-q", n)
    return Releases(clone, n, n1, ", ".join(heads), from_worktree)


class Upgrade:
    """``starling upgrade`` in a thread, each output line stamped with the time it arrived."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.lines: list[tuple[float, str]] = []
        self.returncode: int | None = None
        self.started = self.finished = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "starling.cli", "upgrade"], env=self.env, cwd=self.cwd,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip()))
        self.returncode = proc.wait(timeout=300)
        self.finished = time.monotonic()

    def run(self, limit: float = 300) -> None:
        self._thread.start()
        self._thread.join(timeout=limit)

    def migrated_at(self) -> float | None:
        return next((t for t, line in self.lines if "applied" in line and MIGRATION_REVISION in line), None)

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)


async def schema_has_upgrade(ws: Workspace) -> dict[str, bool]:
    assert ws.db is not None
    raw = await ws.db.connect()
    try:
        versions = {str(r[0]) for r in await raw.fetch("SELECT version_num FROM alembic_version")}
        if raw.backend == "postgres":
            index_ok = bool(await raw.fetchval(
                "SELECT i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = ?",
                NEW_INDEX))
            table_ok = bool(await raw.fetchval("SELECT to_regclass(?) IS NOT NULL", NEW_TABLE))
        else:
            index_ok = bool(await raw.fetchval("SELECT count(*) FROM sqlite_master WHERE name = ?", NEW_INDEX))
            table_ok = bool(await raw.fetchval("SELECT count(*) FROM sqlite_master WHERE name = ?", NEW_TABLE))
        return {"revision_recorded": MIGRATION_REVISION in versions, "table": table_ok, "index_valid": index_ok}
    finally:
        await raw.close()


async def run_drill(backend: str, *, workers: int = 2, warmup: float = 8.0, after: float = 8.0,
                    concurrency: int = 8, from_worktree: bool = False, seed: int = 1,
                    keep: bool = False) -> tuple[dict[str, Any], dict[str, bool]]:
    ws = Workspace("rolling_upgrade", backend, keep=keep)
    result: dict[str, Any] = {"workers": workers, "concurrency": concurrency, "warmup_s": warmup, "after_s": after}
    try:
        releases = await asyncio.to_thread(build_releases, ws.workdir, from_worktree=from_worktree)
        result["releases"] = {"n": releases.n[:12], "n+1": releases.n1[:12], "n_from_worktree": from_worktree,
                              "migration": f"{MIGRATION_REVISION} (revises {releases.down_revision})"}
        log(f"release N {releases.n[:12]}, release N+1 {releases.n1[:12]} in {releases.clone}")
        db = await ws.create_db()
        env = ws.env({"PYTHONPATH": str(releases.src)})
        await asyncio.to_thread(ws.migrate, env, releases.clone)
        raw = await db.connect()
        try:
            world = await seed_world(raw, posters=6, followers=6, followers_follow_posters=3)
        finally:
            await raw.close()
        server = ws.server(env, workers, cwd=releases.clone)
        await server.start()
        async with httpx.AsyncClient(timeout=10) as client:
            before_header = (await client.get(f"{server.base_url}/api/v1/instance")).headers.get(RELEASE_HEADER)
        posters = [Client(i, t) for i, t in zip(world.posters.ids, world.posters.token_list(), strict=True)]
        readers = [Client(i, t) for i, t in zip(world.followers.ids, world.followers.token_list(), strict=True)]
        streams: list[ResumingStream] = []
        if await asyncio.to_thread(streaming_available, server.base_url, readers[0].token):
            streams = [ResumingStream(server.base_url, r.token, r.id) for r in readers]
            for stream in streams:
                await asyncio.to_thread(stream.start)
            log(f"{len(streams)} streaming clients connected")
        else:
            log(STREAMING_NA)
        load = MixedLoad(server.base_url, posters=posters, readers=readers, concurrency=concurrency, seed=seed,
                         release_header=RELEASE_HEADER,
                         mix={"post": 3, "home": 2, "public": 1, "status": 2, "favourite": 1}).start()
        await asyncio.sleep(warmup)
        await asyncio.to_thread(git, releases.clone, "checkout", "-q", releases.n1)
        log("checked out release N+1; starling upgrade")
        upgrade = Upgrade(env, releases.clone)
        await asyncio.to_thread(upgrade.run)
        log(f"upgrade exited {upgrade.returncode} after {upgrade.finished - upgrade.started:.1f} s")
        await asyncio.sleep(after)
        load.stop()
        summary = load.summary()
        async with httpx.AsyncClient(timeout=10) as client:
            after_header = (await client.get(f"{server.base_url}/api/v1/instance")).headers.get(RELEASE_HEADER)
        migrated_at = upgrade.migrated_at()
        outcomes = list(load.outcomes)
        old_on_new_schema = sum(1 for o in outcomes if migrated_at is not None and o.started > migrated_at
                                and o.release is None and o.status is not None)
        stale_after = [o for o in outcomes if o.started > upgrade.finished and o.release != "n+1"]
        first_new = min((o.finished for o in outcomes if o.release == "n+1"), default=None)
        missing = await asyncio.to_thread(unreadable_posts, server.base_url, readers[0].token,
                                          [p for p, _ in load.acks.posts])
        schema = await schema_has_upgrade(ws)
        status_out = run_cli(env, "status", cwd=releases.clone).stdout
        streaming: dict[str, Any] | str = STREAMING_NA
        if streams:
            follows = {f: {world.poster_ids[(i + k) % len(world.poster_ids)] for k in range(3)}
                       for i, f in enumerate(world.followers.ids)}
            waited_from = time.monotonic()
            while True:  # the fan-out jobs may still be running: wait (bounded) for the last updates
                streaming = check_streams(streams, follows, load.acks.posts)
                if streaming["updates_missing"] == 0 or time.monotonic() - waited_from > STREAM_WAIT:
                    break
                await asyncio.sleep(0.5)
            streaming["waited_after_load_s"] = round(time.monotonic() - waited_from, 1)
            for stream in streams:
                await asyncio.to_thread(stream.stop)
        result.update({
            "load": summary,
            "upgrade": {
                "exit_code": upgrade.returncode,
                "seconds": round(upgrade.finished - upgrade.started, 2),
                "migration_s": round(migrated_at - upgrade.started, 2) if migrated_at else None,
                "first_new_code_answer_after_s": round(first_new - upgrade.started, 2) if first_new else None,
                "output": upgrade.output().splitlines()[-6:],
            },
            "answers_by_old_code_on_new_schema": old_on_new_schema,
            "answers_by_old_code_after_upgrade_returned": len(stale_after),
            "header_before": before_header, "header_after": after_header,
            "acknowledged_posts": len(load.acks.posts), "unreadable_posts": len(missing),
            "unreadable_examples": missing[:5],
            "schema": schema,
            "server_status": status_out.splitlines()[:6],
            "streaming": streaming,
        })
        checks = {
            "upgrade_succeeded": upgrade.returncode == 0 and "reloaded: generation" in upgrade.output(),
            "no_failed_requests": summary["failed"] == 0,
            "no_unexpected_4xx": summary["client_errors_4xx"] == 0,
            "load_ran_throughout": summary["longest_gap_without_success_s"] < 5.0 and summary["ok"] > 100,
            "posts_acknowledged": len(load.acks.posts) > 0,
            "no_lost_posts": not missing,
            "migration_applied": all(schema.values()),
            "old_code_ran_before": before_header is None,
            "new_code_serving_at_end": after_header == "n+1" and not stale_after,
        }
        if isinstance(streaming, dict):
            checks["streams_missed_no_event"] = (streaming["updates_missing"] == 0
                                                 and streaming["duplicated_event_ids"] == 0
                                                 and streaming["duplicated_updates"] == 0
                                                 and streaming["updates_expected"] > 0)
            checks["streams_resumed_across_the_reload"] = all(s.connections >= 2 and s.resumed >= 1
                                                              for s in streams)
        return result, checks
    finally:
        await ws.close()


def main() -> None:
    parser = drill_parser(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds of load before the upgrade")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of load after the upgrade")
    parser.add_argument("--concurrency", type=int, default=8, help="load clients")
    parser.add_argument("--worktree", action="store_true",
                        help="release N is HEAD plus the working tree's uncommitted src/")
    args = parser.parse_args()
    result = header("rolling_upgrade", args)
    drill, checks = asyncio.run(run_drill(args.db, workers=args.workers, warmup=args.warmup, after=args.after,
                                          concurrency=args.concurrency, from_worktree=args.worktree, seed=args.seed,
                                          keep=args.keep))
    result.update(drill)
    load = drill["load"]
    print_figures("rolling upgrade under load", {
        "releases": drill["releases"],
        "requests": f"{load['requests']} in {load['seconds']} s ({load['requests_per_s']}/s), ok {load['ok']}, "
                    f"failed {load['failed']} {load['failures_by_kind']}, 4xx {load['client_errors_4xx']}",
        "latency": load["latency"],
        "longest gap without a success": f"{load['longest_gap_without_success_s']} s",
        "upgrade": drill["upgrade"],
        "answers by old code on the new schema": drill["answers_by_old_code_on_new_schema"],
        "acknowledged posts / unreadable": f"{drill['acknowledged_posts']} / {drill['unreadable_posts']}",
        "schema": drill["schema"],
        "release header before / after": f"{drill['header_before']} / {drill['header_after']}",
        "streaming": drill["streaming"],
    })
    applicable = isinstance(drill["streaming"], dict)
    sys.exit(finish(result, checks, summary="" if applicable else "streaming: N/A"))


if __name__ == "__main__":
    main()
