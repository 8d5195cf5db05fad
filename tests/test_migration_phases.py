"""Expand/contract: what each migration's upgrade() does, read from its source.

During an upgrade the code of the release before still serves on the new schema (and after a
restore, the other way round), so an "expand" migration may only add. Its upgrade() is parsed:
every op.* call (in it and in the module's functions it calls) and every SQL string it hands
to op.execute (constants, f-strings, module constants and the module's functions that build
them). A "contract" migration may remove and tighten; it ships in the release after the code
stopped using the thing (migrations/script.py.mako, README "Upgrading").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

VERSIONS = sorted((ROOT / "migrations" / "versions").glob("*.py"))

# op.<name>(…) that is never an expand
FORBIDDEN_OPS = {
    "drop_table": "drops a table",
    "drop_column": "drops a column",
    "rename_table": "renames a table",
}
# SQL an expand never runs (comments removed, any case)
FORBIDDEN_SQL = {
    r"\bDROP\s+TABLE\b": "drops a table",
    r"\bDROP\s+COLUMN\b": "drops a column",
    r"\bRENAME\s+(COLUMN\s+)?\S+\s+TO\b|\bRENAME\s+TO\b": "renames a table or a column",
    r"\bALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b": "changes a column's type",
    r"\bSET\s+NOT\s+NULL\b": "sets NOT NULL on an existing column",
}


def _strings(node: ast.AST, module: dict[str, ast.AST], seen: set[str]) -> list[str]:
    """Every string literal an expression is made of, following the module's own constants and
    functions (once each); an f-string's parts joined with a placeholder."""
    found = []
    parts = set()  # an f-string's constant parts: read with it, not again on their own
    for sub in ast.walk(node):
        if isinstance(sub, ast.JoinedStr):
            parts |= {id(v) for v in sub.values}
            found.append(
                "".join(v.value if isinstance(v, ast.Constant) else " x " for v in sub.values)
            )
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in parts:
            found.append(sub.value)
        elif isinstance(sub, ast.Name) and sub.id in module and sub.id not in seen:
            seen.add(sub.id)
            found += _strings(module[sub.id], module, seen)
    return found


def _op_calls(function: ast.AST, module: dict[str, ast.AST], seen: set[str]):
    """(name, call) for each op.* or batch_op.* call in a function and the module's functions
    it calls."""
    for sub in ast.walk(function):
        if not isinstance(sub, ast.Call):
            continue
        func = sub.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in ("op", "batch_op"):
                yield func.attr, sub
        elif isinstance(func, ast.Name) and func.id in module and func.id not in seen:
            seen.add(func.id)
            if isinstance(module[func.id], ast.FunctionDef):
                yield from _op_calls(module[func.id], module, seen)


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _false(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def contracting(source: str) -> list[str]:
    """What an upgrade() does that only a contract migration may: one line for each."""
    tree = ast.parse(source)
    module: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            module[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    module[target.id] = node.value
    upgrade = module.get("upgrade")
    assert isinstance(upgrade, ast.FunctionDef), "no upgrade()"
    found = []
    for name, call in _op_calls(upgrade, module, {"upgrade"}):
        where = f"line {call.lineno}: op.{name}"
        if name in FORBIDDEN_OPS:
            found.append(f"{where} {FORBIDDEN_OPS[name]}")
        elif name == "alter_column":
            if _keyword(call, "type_") is not None:
                found.append(f"{where} changes a column's type")
            if _keyword(call, "new_column_name") is not None:
                found.append(f"{where} renames a column")
            if _false(_keyword(call, "nullable")):
                found.append(f"{where} sets NOT NULL on an existing column")
        elif name == "add_column":
            column = call.args[1] if len(call.args) > 1 else _keyword(call, "column")
            if (
                isinstance(column, ast.Call)
                and _false(_keyword(column, "nullable"))
                and _keyword(column, "server_default") is None
            ):
                found.append(f"{where} adds a NOT NULL column without a server default")
        elif name == "execute":
            for sql in _strings(call, module, set()):
                sql = re.sub(r"--[^\n]*", "", sql)
                for pattern, what in FORBIDDEN_SQL.items():
                    if re.search(pattern, sql, re.IGNORECASE):
                        found.append(f"{where} {what}: {' '.join(sql.split())[:80]}")
    return found


def phase(source: str) -> str | None:
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "PHASE" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ):
            return node.value.value
    return None


def test_there_are_migrations():
    assert len(VERSIONS) >= 18


@pytest.mark.parametrize("path", VERSIONS, ids=lambda p: p.name[:4])
def test_each_migration_is_an_expand_or_a_contract(path: Path):
    source = path.read_text()
    declared = phase(source)
    assert declared in ("expand", "contract"), f"{path.name}: PHASE = {declared!r}"
    found = contracting(source)
    if declared == "expand":
        assert found == [], f"{path.name} is an expand migration but:\n" + "\n".join(found)
    else:  # a contract that contracts nothing should say "expand"
        assert found, f"{path.name} says contract but only adds"


def test_the_template_says_expand_and_the_rule():
    template = (ROOT / "migrations" / "script.py.mako").read_text()
    assert 'PHASE = "expand"' in template
    assert "release AFTER" in template


HELPERS = """
from alembic import op
import sqlalchemy as sa
TABLE = "teams"
SQL = "ALTER TABLE teams RENAME COLUMN name TO title"
def _retype():
    return f"ALTER TABLE {TABLE} ALTER COLUMN phone TYPE text"
"""


@pytest.mark.parametrize(
    "body, what",
    [
        ('op.drop_column("teams", "phone")', "drops a column"),
        ('op.drop_table("teams")', "drops a table"),
        ('op.rename_table("teams", "groups")', "renames a table"),
        ('op.alter_column("teams", "phone", type_=sa.Text())', "changes a column's type"),
        ('op.alter_column("teams", "phone", new_column_name="tel")', "renames a column"),
        ('op.alter_column("teams", "phone", nullable=False)', "sets NOT NULL"),
        ('op.add_column("teams", sa.Column("x", sa.Integer(), nullable=False))', "NOT NULL"),
        ('op.execute("-- tidy\\nDROP TABLE old_teams")', "drops a table"),
        ('op.execute(f"ALTER TABLE {TABLE} DROP COLUMN phone")', "drops a column"),
        ("op.execute(SQL)", "renames"),
        ("op.execute(_retype())", "changes a column's type"),
        ('op.execute("ALTER TABLE teams ALTER phone SET NOT NULL")', "sets NOT NULL"),
        ("helper()", "drops a column"),
    ],
)
def test_what_an_expand_may_not_do_is_found(body, what):
    source = (
        HELPERS
        + 'def helper():\n    op.drop_column("teams", "phone")\n'
        + f"def upgrade():\n    {body}\n"
    )
    found = contracting(source)
    assert len(found) == 1 and what in found[0], found


def test_what_an_expand_may_do_is_not_found():
    source = HELPERS + (
        "def upgrade():\n"
        '    op.create_table("t", sa.Column("id", sa.Integer(), primary_key=True))\n'
        '    op.add_column("teams", sa.Column("n", sa.Integer(), nullable=False,'
        ' server_default="0"))\n'
        '    op.add_column("teams", sa.Column("note", sa.Text()))\n'
        '    op.alter_column("teams", "phone", nullable=True)\n'
        '    op.create_index("ix_t", "teams", ["n"])\n'
        '    op.execute("DROP TRIGGER IF EXISTS t ON teams; CREATE FUNCTION f() RETURNS int'
        ' LANGUAGE sql AS $$ SELECT 1 $$; UPDATE teams SET n = 1")\n'
        "def downgrade():\n"
        '    op.drop_table("t")\n'
    )
    assert contracting(source) == []
