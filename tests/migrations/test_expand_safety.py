"""Every migration keeps the expand/contract discipline; the check catches what would break old code."""

from __future__ import annotations

import types

import pytest

from starling import db_migrate
from starling.migrations.safety import check_module, render_upgrade, scan


def _module(body: str) -> types.ModuleType:
    module = types.ModuleType("revision_under_test")
    exec("import sqlalchemy as sa\nfrom alembic import op\n"
         "from starling.migrations.helpers import create_index_concurrently\n" + body, module.__dict__)
    return module


def test_every_revision_declares_a_phase_that_matches_its_lineage() -> None:
    directory = db_migrate.scripts()
    for script in directory.walk_revisions():
        phase = db_migrate.phase_of(script)
        assert getattr(script.module, "phase", None) in db_migrate.PHASES, f"{script.revision} declares no phase"
        assert db_migrate.lineage_label(directory, script) == phase, (
            f"{script.revision} is a {phase} revision outside the {phase} lineage"
        )
        if phase == db_migrate.CONTRACT and script.down_revision is None:
            assert script.dependencies, f"contract root {script.revision} must depend_on an expand revision"


def test_expand_revisions_only_add() -> None:
    findings = []
    for script in db_migrate.scripts().walk_revisions():
        if db_migrate.phase_of(script) == db_migrate.EXPAND:
            findings += check_module(script.revision, script.module)
    assert not findings, "expand revisions that break running code:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("def upgrade():\n    op.drop_column('accounts', 'note')", "removal"),
        ("def upgrade():\n    op.drop_table('rules')", "removal"),
        ("def upgrade():\n    with op.batch_alter_table('accounts') as b:\n        b.drop_column('note')", "removal"),
        ("def upgrade():\n    op.drop_index('ix_statuses_account_id_id', table_name='statuses')", "removal"),
        ("def upgrade():\n    op.alter_column('accounts', 'note', new_column_name='bio')", "rename"),
        ("def upgrade():\n    op.rename_table('rules', 'server_rules')", "rename"),
        ("def upgrade():\n    op.alter_column('accounts', 'note', existing_type=sa.Text(), nullable=False)",
         "not-null"),
        ("def upgrade():\n    op.alter_column('accounts', 'note', type_=sa.String(10))", "type-change"),
        ("def upgrade():\n    op.add_column('accounts', sa.Column('x', sa.Integer(), nullable=False))",
         "not-null-without-default"),
        ("def upgrade():\n    op.create_index('ix_x', 'accounts', ['note'])", "blocking-index"),
        ("def upgrade():\n    with op.batch_alter_table('accounts') as b:\n        b.create_index('ix_x', ['note'])",
         "blocking-index"),
        ("def upgrade():\n    op.create_foreign_key('fk_x', 'statuses', 'accounts', ['in_reply_to_account_id'],"
         " ['id'])",
         "validating-constraint"),
        ("def upgrade():\n    op.execute('UPDATE accounts SET note = \\'\\'')", "data-change"),
        ("def upgrade():\n    op.execute('ALTER TABLE accounts DROP COLUMN note')", "removal"),
        ("def upgrade():\n    op.get_bind().execute(sa.text('SELECT 1')).scalar()", "not-renderable"),
    ],
)
def test_the_check_catches(body: str, rule: str) -> None:
    findings = check_module("x", _module(body))
    assert rule in {f.rule for f in findings}, [str(f) for f in findings]


@pytest.mark.parametrize(
    "body",
    [
        "def upgrade():\n    op.add_column('accounts', sa.Column('x', sa.Integer(), nullable=True))",
        "def upgrade():\n    op.add_column('accounts', sa.Column('x', sa.Integer(), nullable=False,"
        " server_default='0'))",
        "def upgrade():\n    create_index_concurrently('ix_x', 'accounts', ['note'])",
        "def upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True),"
        " sa.Column('a', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False))\n"
        "    op.create_index('ix_t_a', 't', ['a'])",
        "def upgrade():\n    op.create_foreign_key('fk_x', 'statuses', 'accounts', ['in_reply_to_account_id'], ['id'],"
        " postgresql_not_valid=True)",
    ],
)
def test_the_check_lets_additions_through(body: str) -> None:
    assert check_module("x", _module(body)) == []


def test_a_revision_may_allow_a_finding_with_a_reason() -> None:
    body = "def upgrade():\n    op.execute('UPDATE rules SET hint = \\'\\' WHERE hint IS NULL')\n"
    assert [f.rule for f in check_module("x", _module(body))] == ["data-change"]
    allowed = _module(body + "expand_safety_allow = {'data-change': 'rules has a dozen rows'}\n")
    assert check_module("x", allowed) == []
    no_reason = _module(body + "expand_safety_allow = {'data-change': ''}\n")
    assert [f.rule for f in check_module("x", no_reason)] == ["data-change"]


def test_concurrent_index_renders_outside_a_transaction() -> None:
    sql = render_upgrade(_module("def upgrade():\n    create_index_concurrently('ix_x', 'accounts', ['note'])"))
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_x ON accounts (note)" in sql
    before = sql.split("CREATE INDEX CONCURRENTLY")[0]
    assert before.rstrip().endswith("SET statement_timeout = 0;")
    assert "COMMIT" in before  # the migration's transaction ends before the build
    assert scan("x", sql) == []
