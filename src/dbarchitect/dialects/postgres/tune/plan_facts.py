"""Facts the plan rules read around a node: what a table's indexes lead with, whether a node
may stop early, whether a cast is harmless, the rows a LIMIT skips, the keys a sort or a
condition would want from an index, and the equalities that cross from one subtree to another.
"""

from __future__ import annotations

import re
from typing import Any

from pglast import ast

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.plan_walk import (
    Context,
    Relation,
    Visit,
    column,
    compared,
    deparse,
    join_pairs,
    parse_condition,
    planned_rows,
    uncast,
)
from dbarchitect.model import Schema
from dbarchitect.model.schema import Table

# --- a table's indexes ---------------------------------------------------------------------


def leading_index(table: Table, name: str) -> str | None:
    """The name of an index (or key constraint) whose first key is column `name`."""
    if table.primary_key and table.primary_key.columns[:1] == (name,):
        return table.primary_key.name
    for unique in table.uniques:
        if unique.columns[:1] == (name,):
            return unique.name
    for index in table.indexes:
        if index.keys and not index.keys[0].expression and index.keys[0].column == name:
            return index.name
    return None


def index_columns(table: Table, index: str) -> list[str] | None:
    """Key columns of the index named `index` on `table` (None for expression keys)."""
    if table.primary_key and table.primary_key.name == index:
        return list(table.primary_key.columns)
    for unique in table.uniques:
        if unique.name == index:
            return list(unique.columns)
    for found in table.indexes:
        if found.name == index and not any(k.expression for k in found.keys):
            return [k.column + (" DESC" if k.descending else "") for k in found.keys]
    return None


# --- facts around a node -------------------------------------------------------------------


_CONSUMES_ALL = ("Sort", "Hash", "Aggregate", "WindowAgg", "SetOp", "Unique", "Incremental Sort")


def may_stop_early(visit: Visit) -> bool:
    below = visit
    for up in visit.ancestors():
        if up.type in _CONSUMES_ALL:
            return False
        if up.type == "Limit" or below.relationship == "SubPlan" or up.type == "Merge Join":
            return True
        if below.relationship == "Inner" and up.get("Join Type") in ("Semi", "Anti"):
            return True
        below = up
    return False


_TYPE_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "varchar": "character varying",
    "bpchar": "character",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}
_TEXTUAL = ("text", "character varying")


def _base_type(name: str) -> str:
    return re.sub(r"\(.*?\)", "", name).strip().lower()


def harmless_cast(column_type: str, target: str, schema: Schema) -> bool:
    """The cast is a relabeling an index on the column still serves (varchar → text), or a
    no-op (to the column's own type or to its domain's base type)."""
    base, wanted = _base_type(column_type), _TYPE_NAMES.get(target, target)
    domain = next((d for d in schema.domains if base in (d.name, f"{d.schema}.{d.name}")), None)
    if domain is not None:
        base = _base_type(domain.base_type)
    return base == wanted or (base in _TEXTUAL and wanted in _TEXTUAL)


def range_vars(items: object) -> list[ast.RangeVar]:
    out: list[ast.RangeVar] = []
    for item in items if isinstance(items, tuple) else ():
        if isinstance(item, ast.RangeVar):
            out.append(item)
        elif isinstance(item, ast.JoinExpr):
            out += range_vars((item.larg, item.rarg))
    return out


def index_lookup(ctx: Context, inner: Visit) -> bool:
    """The inner side of a nested loop looks rows up by index (through a Memoize too)."""
    while inner.type == "Memoize" and (child := ctx.child(inner, "Outer")) is not None:
        inner = child
    if inner.type in ("Index Scan", "Index Only Scan"):
        return bool(inner.get("Index Cond"))
    return inner.type == "Bitmap Heap Scan"


def offset_of(ctx: Context, limit: Visit, child: Visit) -> float:
    """Rows the LIMIT skips: the query's literal OFFSET, else what its startup cost implies
    (the planner charges the skipped fraction of its input to the Limit's startup)."""
    stmt = ctx.statement()
    first = next((v for v in ctx.nodes if v.type == "Limit"), None)
    if first is limit and isinstance(stmt, ast.SelectStmt):
        offset = uncast(stmt.limitOffset)
        value = offset.val if isinstance(offset, ast.A_Const) else None
        if isinstance(value, ast.Integer):
            return float(value.ival or 0)
    start, low = float(limit.get("Startup Cost", 0)), float(child.get("Startup Cost", 0))
    high, produced = float(child.get("Total Cost", 0)), planned_rows(child)
    return produced * (start - low) / (high - low) if high > low else 0.0


def order_keys(ctx: Context, child: Visit) -> list[str]:
    stmt = ctx.statement()
    if isinstance(stmt, ast.SelectStmt) and stmt.sortClause:
        return [deparse(s) for s in stmt.sortClause]
    for visit in ctx.below(child):
        if visit.get("Sort Key"):
            return [str(k) for k in visit.get("Sort Key")]
        relation = ctx.relations.scanned(visit)
        if visit.get("Index Name") and relation and relation.table:
            return index_columns(relation.table, str(visit.get("Index Name"))) or []
    return []


def key_columns(ctx: Context, visit: Visit, texts: list[Any], relation: Relation) -> list[str]:
    """Index key columns for `relation` from conditions: equalities first, then ranges."""
    found: dict[str, list[str]] = {"eq": [], "range": []}
    for text in filter(None, texts):
        for item in compared(parse_condition(str(text))):
            owner = ctx.owner(item.qualifier, visit)
            mine = owner is not None and owner.qualified == relation.qualified
            if mine and item.op in found and item.column not in found["eq"] + found["range"]:
                found[item.op].append(item.column)
    return (found["eq"] + found["range"])[:4]


def crossing(
    ctx: Context, top: Visit, where: list[tuple[Visit, str]]
) -> tuple[Relation, str, tuple[str, str], Visit] | None:
    """The first equality in the conditions `where` names ((node, key) pairs) between a column
    of a table scanned at or under `top` and a column from outside it: (that relation, its
    column, the outside column, the scan)."""
    scans = {str(v.get("Alias")): v for v in ctx.below(top) if v.get("Relation Name")}
    for visit, key in where:
        own = str(visit.get("Alias", ""))  # a bare column in a scan's condition is its own
        for left, right in join_pairs(parse_condition(str(visit.get(key) or "TRUE"))):
            for here, there in ((left, right), (right, left)):
                alias, other = here[0] or own, there[0] or own
                relation = ctx.relations.by_alias(alias) if alias in scans else None
                if relation is not None and other not in scans:
                    return relation, here[1], (other, there[1]), scans[alias]
    return None


def sort_columns(ctx: Context, sort: Visit) -> tuple[Relation, list[str]] | None:
    """The table scanned right under a sort and its sort keys as index keys, when every key
    is a bare column of it."""
    child = ctx.child(sort, "Outer")
    relation = ctx.relations.scanned(child) if child is not None else None
    keys: list[str] = []
    for key in sort.get("Sort Key", []):
        desc = " DESC" if str(key).endswith(" DESC") else ""
        col = column(parse_condition(re.sub(r"\s+(ASC|DESC)$", "", str(key))))
        if col is None:
            return None
        keys.append(quote(col[1]) + desc)
    return (relation, keys) if relation is not None and keys else None
