"""The harness of the PostgreSQL migration renderer tests (see test_migrate_render.py)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.migrate import render_operations
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.migration import Statement
from dbarchitect.migrate.operations import Kind, Obj, Operation, invert
from dbarchitect.model import Schema, to_json
from dbarchitect.sources import introspect_url

ENGINE = get_dialect("postgres").engine()
Build = Callable[[Schema, Schema], list[Operation]]


# --- harness ------------------------------------------------------------------------------
_PLURAL = {"index": "indexes", "trigger": "triggers", "policy": "policies"}


def find(s: Schema, kind: Kind, name: str, owner: str = "") -> Obj:
    """The object of `kind` called `name` (on `owner`) in schema `s`."""
    found: Any = None
    if kind in ("table", "column", "primary_key", "foreign_key", "unique", "check", "exclusion"):
        table = s.table(owner or name)
        assert table is not None, f"no table {owner or name}"
        if kind == "table":
            found = table
        elif kind == "column":
            found = table.column(name)
        elif kind == "primary_key":
            found = table.primary_key
        else:
            attr = {
                "foreign_key": "foreign_keys",
                "unique": "uniques",
                "check": "checks",
                "exclusion": "exclusions",
            }[kind]
            found = next((c for c in getattr(table, attr) if c.name == name), None)
    elif kind in ("index", "trigger", "policy"):
        rel: Any = s.table(owner) or s.view(owner)
        found = next(
            (x for x in getattr(rel, _PLURAL[kind]) if x.name == name),
            None,
        )
    elif kind == "view":
        found = s.view(name)
    elif kind == "function":
        found = next((f for f in s.functions if f.signature == name), None)
    elif kind in ("namespace", "extension"):
        found = next((x for x in getattr(s, kind + "s") if x.name == name), None)
    else:
        group: tuple[Any, ...] = {
            "enum": s.enums,
            "domain": s.domains,
            "composite": s.composite_types,
            "range": s.ranges,
            "sequence": s.sequences,
            "collation": s.collations,
            "ts_config": s.text_search_configs,
        }[kind]
        found = next((x for x in group if f"{x.schema}.{x.name}" == name), None)
    assert found is not None, f"no {kind} {name} in {owner or 'schema'}"
    return found  # type: ignore[no-any-return]


def alter(b: Schema, a: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(
        action="alter",
        kind=kind,
        before=find(b, kind, name, owner),
        after=find(a, kind, name, owner),
        owner=owner,
    )


def create(a: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(action="create", kind=kind, after=find(a, kind, name, owner), owner=owner)


def drop(b: Schema, kind: Kind, name: str, owner: str = "") -> Operation:
    return Operation(action="drop", kind=kind, before=find(b, kind, name, owner), owner=owner)


def privilege_ops(b: Schema, a: Schema) -> list[Operation]:
    """Grants and default privileges compared by value: drops first, then creates."""
    ops = [Operation(action="drop", kind="grant", before=g) for g in b.grants if g not in a.grants]
    ops += [
        Operation(action="drop", kind="default_privilege", before=d)
        for d in b.default_privileges
        if d not in a.default_privileges
    ]
    ops += [
        Operation(action="create", kind="grant", after=g) for g in a.grants if g not in b.grants
    ]
    ops += [
        Operation(action="create", kind="default_privilege", after=d)
        for d in a.default_privileges
        if d not in b.default_privileges
    ]
    return ops


def rows(url: DatabaseURL, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def assert_same(got: Schema, want: Schema, label: str) -> None:
    if got != want:
        diff = difflib.unified_diff(
            to_json(want).splitlines(), to_json(got).splitlines(), "want", "got", lineterm=""
        )
        pytest.fail(f"{label}: schema differs\n" + "\n".join(list(diff)[:80]))


@contextmanager
def loaded(sql: str) -> Iterator[tuple[DatabaseURL, Schema]]:
    with ENGINE.scratch() as url:
        ENGINE.run_script(url, sql)
        yield url, introspect_url(url)


def migrate(
    before_sql: str,
    after_sql: str,
    build: Build,
    *,
    online: bool = True,
    data: str = "",
    check_up: Callable[[DatabaseURL], None] | None = None,
    check_down: Callable[[DatabaseURL], None] | None = None,
    down: bool = True,
) -> tuple[list[Statement], list[Statement]]:
    """Run one case up and down; return the statements of both directions."""
    with loaded(after_sql) as (_, after), loaded(before_sql) as (url, before):
        if data:
            ENGINE.run_script(url, data)
        ops = build(before, after)
        up = render_operations(ops, before, after, online=online)
        apply_statements(url, up, label="up")
        assert_same(introspect_url(url), after, "up")
        if check_up:
            check_up(url)
        back = render_operations(invert(ops), after, before, online=online)
        if down:
            apply_statements(url, back, label="down")
            assert_same(introspect_url(url), before, "down")
            if check_down:
                check_down(url)
        return up, back


def sqls(statements: list[Statement]) -> list[str]:
    return [s.sql for s in statements]


ONLINE = pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
