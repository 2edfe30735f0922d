"""The expand rule, checked: an expand revision must leave a schema the previous release still works on.

Each expand revision's ``upgrade()`` is rendered to PostgreSQL SQL offline (nothing touches a database)
and every statement is scanned for what breaks running code or blocks live traffic:

* ``removal``: ``DROP TABLE/COLUMN/INDEX/CONSTRAINT/VIEW/SEQUENCE/TYPE`` (old code still uses it);
* ``rename``: renaming a table or column (old code uses the old name);
* ``type-change``: ``ALTER COLUMN … TYPE`` (rewrites the table under an exclusive lock; old code may
  write values the new type refuses);
* ``not-null``: ``SET NOT NULL`` on an existing column (old code may insert NULL);
* ``not-null-without-default``: a new ``NOT NULL`` column without a server default (old code's INSERTs
  do not name it and fail);
* ``blocking-index``: ``CREATE INDEX`` on an existing table without ``CONCURRENTLY`` (blocks writes
  while it builds: use ``helpers.create_index_concurrently``);
* ``validating-constraint``: ``ADD CONSTRAINT`` on an existing table without ``NOT VALID`` (scans the
  table under lock);
* ``data-change``: ``UPDATE``/``DELETE`` (a long transaction: write a backfill instead).

A revision may allow a finding for a stated reason: ``expand_safety_allow = {"data-change": "why"}``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from types import ModuleType

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

RULES: dict[str, re.Pattern[str]] = {
    "removal": re.compile(r"\bDROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT|VIEW|SEQUENCE|TYPE)\b", re.I),
    "rename": re.compile(r"\bRENAME\b", re.I),
    "type-change": re.compile(r"\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b", re.I),
    "not-null": re.compile(r"\bALTER\s+COLUMN\s+\S+\s+SET\s+NOT\s+NULL\b", re.I),
    "data-change": re.compile(r"^\s*(UPDATE|DELETE\s+FROM)\b", re.I),
}
_ADD_COLUMN = re.compile(r"\bADD\s+COLUMN\s+(?P<def>.*)", re.I | re.S)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(?P<table>[\w.]+)\"?", re.I)
_CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?P<concurrently>CONCURRENTLY\s+)?.*?\bON\s+\"?(?P<table>[\w.]+)\"?",
    re.I | re.S,
)
_ALTER_TABLE = re.compile(r"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?\"?(?P<table>[\w.]+)\"?", re.I)
_ADD_CONSTRAINT = re.compile(r"\bADD\s+CONSTRAINT\b", re.I)
_BOOKKEEPING = re.compile(r"alembic_version", re.I)


@dataclass(frozen=True)
class Finding:
    revision: str
    rule: str
    statement: str

    def __str__(self) -> str:
        return f"{self.revision}: {self.rule}: {self.statement.strip()[:200]}"


def render_upgrade(module: ModuleType, dialect: str = "postgresql") -> str:
    """The SQL a revision's ``upgrade()`` emits, rendered offline."""
    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect, opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True}
    )
    with Operations.context(context):
        module.upgrade()
    return buffer.getvalue()


def statements(sql: str) -> list[str]:
    parts = [p.strip() for p in re.split(r";\s*(?:\n|$)", sql)]
    return [p for p in parts if p and not p.startswith("--") and p.upper() not in ("BEGIN", "COMMIT")]


def scan(revision: str, sql: str) -> list[Finding]:
    findings: list[Finding] = []
    created: set[str] = set()
    for stmt in statements(sql):
        if _BOOKKEEPING.search(stmt):
            continue
        lines = [ln for ln in stmt.splitlines() if not ln.strip().startswith("--")]
        stmt = "\n".join(lines).strip()
        if not stmt:
            continue
        table_created = _CREATE_TABLE.match(stmt)
        if table_created:
            created.add(table_created.group("table").lower())
            continue
        for rule, pattern in RULES.items():
            if pattern.search(stmt):
                findings.append(Finding(revision, rule, stmt))
        added = _ADD_COLUMN.search(stmt)
        if added:
            definition = added.group("def").upper()
            if "NOT NULL" in definition and "DEFAULT" not in definition:
                findings.append(Finding(revision, "not-null-without-default", stmt))
        index = _CREATE_INDEX.match(stmt)
        if index and not index.group("concurrently") and index.group("table").lower() not in created:
            findings.append(Finding(revision, "blocking-index", stmt))
        altered = _ALTER_TABLE.match(stmt)
        if (
            altered
            and _ADD_CONSTRAINT.search(stmt)
            and "NOT VALID" not in stmt.upper()
            and altered.group("table").lower() not in created
        ):
            findings.append(Finding(revision, "validating-constraint", stmt))
    return findings


def check_module(revision: str, module: ModuleType) -> list[Finding]:
    """Findings for an expand revision, less those it allows with a reason."""
    try:
        sql = render_upgrade(module)
    except Exception as exc:
        return [Finding(revision, "not-renderable", f"upgrade() cannot be rendered offline: {exc!r}")]
    allowed = getattr(module, "expand_safety_allow", {}) or {}
    return [f for f in scan(revision, sql) if not str(allowed.get(f.rule, "")).strip()]
