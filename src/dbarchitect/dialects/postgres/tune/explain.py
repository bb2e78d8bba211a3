"""Plans of workload statements: EXPLAIN them, once bind.py has bound their parameters.

Text that still holds parameters (`$1…$k`, those `bind` found no representative value for) is
planned as a generic plan: PREPARE with the types the server infers, EXPLAIN EXECUTE with NULLs
under plan_cache_mode=force_generic_plan (PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN)), in a
transaction that is rolled back, which drops the prepared statement too. That works in a
read-only session for reads; for a writing statement `bind` raises InputError there.

`explain` adds "Relations" to EXPLAIN's top object: the tables the statement names or the plan
scans, resolved by the server, as {"Schema", "Relation Name", "Rows" (reltuples, -1 if never
analyzed), "Pages", "Aliases" (given in the text)}: without VERBOSE the plan names relations
without their schema, and plan findings need table sizes.
"""

from __future__ import annotations

import itertools
from typing import Any

import pglast
import psycopg
from pglast import ast

from dbarchitect.dialects.postgres.quoting import qname
from dbarchitect.dialects.postgres.tune.plan_walk import nodes
from dbarchitect.engines.base import Session
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.tune.tuner import Plan

_COUNTER = itertools.count(1)


def explain(session: Session, sql: str, *, analyze: bool = False) -> Plan:
    """EXPLAIN (FORMAT JSON) of one statement (with ANALYZE, BUFFERS when `analyze`), run in a
    transaction that is always rolled back, so an analyzed INSERT/UPDATE/DELETE leaves nothing.
    Text that still holds parameters is planned as a generic plan (never analyzed). Returns
    EXPLAIN's top object plus "Relations" (see the module docstring); server errors become an
    InputError naming the statement."""
    stmt, text = statement(sql)
    count = max((param_number(p) for p in param_refs(stmt)), default=0)
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    if count and analyze:
        raise InputError(f"{short_name(sql)}: cannot EXPLAIN ANALYZE a statement with parameters")
    try:
        with session.transaction():
            if count:
                rows = _generic(session, text, count, options)
            else:
                rows = session.fetch(f"EXPLAIN ({options}) {text}")
            top: dict[str, Any] = dict(rows[0]["QUERY PLAN"][0])
            top["Relations"] = _relations(session, stmt, top)
    except psycopg.Error as exc:
        message = (exc.diag.message_primary or str(exc)).strip().splitlines()
        raise InputError(
            f"EXPLAIN of {short_name(sql)}: {message[0] if message else 'failed'}"
        ) from None
    except ReadOnlyViolation as exc:
        raise ReadOnlyViolation(f"{exc} (EXPLAIN of {short_name(sql)})") from None
    return top


def parameters(sql: str) -> int:
    """How many parameters `sql` still holds (its highest $n): non-zero after `bind` means
    `explain` will plan it generically."""
    stmt, _ = statement(sql)
    return max((param_number(p) for p in param_refs(stmt)), default=0)


def _generic(session: Session, text: str, count: int, options: str) -> list[dict[str, Any]]:
    # Unique names: inside a caller's transaction an earlier PREPARE is still alive.
    name = f"dbarch_plan_{next(_COUNTER)}"
    mode = session.fetch("SELECT current_setting('plan_cache_mode') AS mode")[0]["mode"]
    session.fetch("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
    session.fetch(f"PREPARE {name} AS {text}")
    rows = session.fetch(f"EXPLAIN ({options}) EXECUTE {name}({', '.join(['NULL'] * count)})")
    session.fetch("SELECT set_config('plan_cache_mode', %s, true)", (mode,))
    return rows


_RELATIONS = """
SELECT q.name AS given, n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS rows,
       c.relpages::bigint AS pages
FROM unnest(%s::text[]) WITH ORDINALITY AS q(name, ord)
JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(q.name)
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
ORDER BY q.ord
"""


def _relations(session: Session, stmt: ast.Node, top: dict[str, Any]) -> list[dict[str, Any]]:
    """The statement's named relations first (as written, so a schema-qualified name wins,
    with the aliases the text gives them), then the plan's relation names as the search path
    resolves them."""
    names: dict[str, list[str]] = {}
    for node in nodes(stmt):
        if isinstance(node, ast.RangeVar) and node.relname:
            names.setdefault(qname(node.schemaname, node.relname), []).append(range_alias(node))
    for name in _plan_relations(top.get("Plan", {})):
        names.setdefault(qname(None, name), [])
    if not names:
        return []
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in session.fetch(_RELATIONS, (list(names),)):
        entry = out.setdefault(
            (row["schema"], row["name"]),
            {
                "Schema": row["schema"],
                "Relation Name": row["name"],
                "Rows": float(row["rows"]),
                "Pages": int(row["pages"]),
                "Aliases": [],
            },
        )
        entry["Aliases"] = sorted({*entry["Aliases"], *names[row["given"]]})
    return list(out.values())


def _plan_relations(node: dict[str, Any]) -> list[str]:
    names = [node["Relation Name"]] if "Relation Name" in node else []
    for child in node.get("Plans", ()):
        names += _plan_relations(child)
    return sorted(set(names))


# --- parsing -------------------------------------------------------------------------------


def statement(sql: str) -> tuple[ast.Node, str]:
    """The one statement of `sql`, parsed, and its text without a trailing semicolon."""
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        raise InputError(f"{short_name(sql)}: does not parse: {exc}") from None
    if len(stmts) != 1:
        raise InputError(f"{short_name(sql)}: {len(stmts)} statements, one expected")
    raw = stmts[0]
    start = raw.stmt_location or 0
    end = start + raw.stmt_len if raw.stmt_len else len(sql)
    if raw.stmt is None:
        raise InputError(f"{short_name(sql)}: no statement")
    return raw.stmt, sql[start:end].strip().rstrip(";")


def param_refs(stmt: ast.Node) -> list[ast.ParamRef]:
    """Every `$n` reference of the statement."""
    return [n for n in nodes(stmt) if isinstance(n, ast.ParamRef)]


def param_number(param: ast.ParamRef) -> int:
    """The n of `$n`."""
    return int(param.number or 0)


def param_location(param: ast.ParamRef) -> int:
    """Where `$n` starts in the statement's text."""
    return int(param.location or 0)


def short_name(sql: str) -> str:
    """A statement named in one line: its first words."""
    flat = " ".join(sql.split())
    return f'"{flat[:60]}…"' if len(flat) > 60 else f'"{flat}"'


def range_alias(ref: ast.RangeVar) -> str:
    """The name a FROM item goes by: its alias, else its relation's name."""
    return str(ref.alias.aliasname) if ref.alias is not None else str(ref.relname)
