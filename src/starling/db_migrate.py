"""Applying migrations from code (the CLI and tests use this), split into expand and contract.

Every revision module declares ``phase = "expand"`` or ``phase = "contract"``:

* **expand** revisions only add (tables, nullable columns or columns with a server default, indexes
  built concurrently). Code of the previous release keeps working on the result, so they run while
  the old workers still serve: ``starling migrate`` / ``starling upgrade``. They form the lineage that
  starts at 0001, labelled ``expand``.
* **contract** revisions remove or tighten (drop a column or table, add NOT NULL). They run once no
  process runs code that still needs what they remove: ``starling migrate --contract``. They form a
  second lineage with its own root, labelled ``contract``; each one ``depends_on`` the expand revision
  it completes, so Alembic never runs it first.

``alembic upgrade expand@head`` and ``alembic upgrade contract@head`` do the same by hand. A database
with no schema yet gets everything at once: no old code can be running against it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
EXPAND, CONTRACT = "expand", "contract"
PHASES = (EXPAND, CONTRACT)
LOCK_NOT_AVAILABLE = "55P03"

log = logging.getLogger("starling.migrate")


@dataclass(frozen=True)
class Revision:
    revision: str
    phase: str
    doc: str
    path: str


def alembic_config(url: str, location: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(location or MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def scripts(location: Path | None = None) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(location or MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def phase_of(script: Script) -> str:
    """A revision's declared phase; a revision that declares none is held to the expand rules."""
    phase = getattr(script.module, "phase", EXPAND)
    if phase not in PHASES:
        raise ValueError(f"revision {script.revision}: phase must be 'expand' or 'contract', not {phase!r}")
    return str(phase)


def lineage_label(directory: ScriptDirectory, script: Script) -> str | None:
    """The branch label of the root a revision descends from (``expand`` or ``contract``)."""
    current: Script | None = script
    seen: set[str] = set()
    while current is not None and current.revision not in seen:
        seen.add(current.revision)
        if current.branch_labels:
            return sorted(current.branch_labels)[0]
        down = current.down_revision
        if down is None:
            return None
        first = down if isinstance(down, str) else down[0]
        current = directory.get_revision(first)
    return None


def all_revisions(location: Path | None = None) -> list[Revision]:
    """Every revision, oldest first."""
    directory = scripts(location)
    found = [
        Revision(s.revision, phase_of(s), (s.doc or "").strip(), s.path)
        for s in directory.walk_revisions("base", "heads")
    ]
    return list(reversed(found))


def expand_heads(location: Path | None = None) -> frozenset[str]:
    """Head revisions of the expand lineage: what this code needs before it may serve."""
    directory = scripts(location)
    return frozenset(h for h in directory.get_heads() if phase_of(directory.get_revision(h)) == EXPAND)  # type: ignore[arg-type]


def _run_sync(url: str, fn: Any) -> Any:
    from starling.adapters.db import create_engine

    async def main() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def applied_heads(url: str) -> set[str]:
    """Revisions recorded in the database's version table (empty for a database without schema)."""

    def read(conn: Connection) -> set[str]:
        return set(MigrationContext.configure(conn).get_current_heads())

    result: set[str] = _run_sync(url, read)
    return result


def applied(url: str, location: Path | None = None) -> set[str]:
    """Every revision the database has, including the ancestors of its recorded heads."""
    directory = scripts(location)
    done: set[str] = set()
    for head in applied_heads(url):
        for script in directory.iterate_revisions(head, "base"):
            if script is not None:
                done.add(script.revision)
    return done


def pending(url: str, location: Path | None = None) -> list[Revision]:
    done = applied(url, location)
    return [r for r in all_revisions(location) if r.revision not in done]


def upgrade(url: str, revision: str = "heads", *, location: Path | None = None, attempts: int = 5) -> None:
    """Upgrade to ``revision`` (everything by default), retrying when PostgreSQL's lock timeout fires.

    Each revision commits on its own, so a retry resumes after the last one that went through.
    """
    if revision == "head":
        revision = "heads"
    for attempt in range(1, attempts + 1):
        try:
            command.upgrade(alembic_config(url, location), revision)
            return
        except Exception as exc:
            if attempt == attempts or not _is_lock_timeout(exc):
                raise
            delay = min(30.0, 2.0 ** attempt)
            log.warning("migration waited too long for a lock (attempt %d of %d); retrying in %.0f s",
                        attempt, attempts, delay)
            time.sleep(delay)


def _is_lock_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) == LOCK_NOT_AVAILABLE or getattr(seen, "pgcode", None) == LOCK_NOT_AVAILABLE:
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else (seen.__cause__ or seen.__context__)
    return False


def migrate_expand(url: str, location: Path | None = None) -> list[Revision]:
    """Apply pending expand revisions (everything, on a database without schema). Returns what ran."""
    todo = pending(url, location)
    if not todo:
        return []
    if not applied_heads(url):
        upgrade(url, "heads", location=location)
        return todo
    expand = [r for r in todo if r.phase == EXPAND]
    if expand:
        upgrade(url, f"{EXPAND}@head", location=location)
    return expand


def migrate_contract(url: str, location: Path | None = None) -> list[Revision]:
    """Apply every pending revision, contract ones included. Returns what ran."""
    todo = pending(url, location)
    if todo:
        upgrade(url, "heads", location=location)
    return todo


def current(url: str) -> None:
    command.current(alembic_config(url))
