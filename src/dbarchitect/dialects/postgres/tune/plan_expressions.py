"""Plan rules on expressions: casts, functions and patterns on columns in a node's conditions
(each one defeats an index on the column), and SELECT * on wide tables in the query's text.
"""

from __future__ import annotations

import re

from pglast import ast, enums

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.plan_facts import (
    harmless_cast,
    leading_index,
    range_vars,
)
from dbarchitect.dialects.postgres.tune.plan_report import LARGE_ROWS, add, count
from dbarchitect.dialects.postgres.tune.plan_walk import (
    Context,
    Relation,
    Visit,
    column,
    deparse,
    loops,
    nodes,
    parse_condition,
    rows,
    uncast,
)

WIDE_COLUMNS = 12

CONDITION_KEYS = ("Filter", "Join Filter", "Hash Cond", "Merge Cond")
_AGGREGATING = ("Aggregate", "WindowAgg", "Group")  # their Filter is a HAVING over aggregates
_DATE_FUNCTIONS = ("date_trunc", "date_part", "extract", "date", "to_char", "timezone")


def conditions(ctx: Context, visit: Visit) -> None:
    """Index-defeating expressions in the node's conditions (Index Cond excluded: a cast or
    function there is an expression index at work)."""
    for key in CONDITION_KEYS:
        text = visit.get(key)
        if not text or (key == "Filter" and visit.type in _AGGREGATING):
            continue
        for node in nodes(parse_condition(str(text))):
            if not isinstance(node, ast.A_Expr):
                continue
            _leading_wildcard(ctx, visit, node)
            for side in (node.lexpr, node.rexpr):
                if isinstance(side, ast.TypeCast):
                    _implicit_cast(ctx, visit, side, f"{key} {text}")
                elif isinstance(side, ast.FuncCall):
                    _function_on_column(ctx, visit, side, f"{key} {text}")


def _implicit_cast(ctx: Context, visit: Visit, cast: ast.TypeCast, where: str) -> None:
    col = column(cast.arg)
    relation = ctx.owner(col[0], visit) if col else None
    table = relation.table if relation else None
    found = table.column(col[1]) if table and col else None
    type_name = cast.typeName
    if relation is None or table is None or found is None or type_name is None:
        return
    if harmless_cast(found.type, str((type_name.names or ())[-1].sval), ctx.schema):
        return
    target = deparse(type_name)
    index = leading_index(table, found.name)
    effect = (
        f"so index {index} on {found.name} cannot be used"
        if index
        else "so no index on the column could serve it"
    )
    add(
        ctx,
        "implicit-cast",
        "warning" if index else "info",
        f"{where} casts {relation.qualified}.{found.name} ({found.type}) to {target}, {effect}",
        f"compare {quote(found.name)} with a value of its own type (cast the other side: "
        f"… = <value>::{found.type}); or index the expression: "
        f"CREATE INDEX CONCURRENTLY ON {relation.sql} "
        f"(({quote(found.name)}::{target}));",
    )


def _function_on_column(ctx: Context, visit: Visit, call: ast.FuncCall, where: str) -> None:
    name = str((call.funcname or ())[-1].sval)
    for arg in call.args or ():
        col = column(uncast(arg))
        relation = ctx.owner(col[0], visit) if col else None
        table = relation.table if relation else None
        index = leading_index(table, col[1]) if table and col else None
        if relation is None or index is None or col is None:
            continue
        expression = deparse(call)
        if col[0]:
            expression = re.sub(rf"\b{re.escape(col[0])}\.", "", expression)
        fix = f"CREATE INDEX CONCURRENTLY ON {relation.sql} (({expression}));"
        if name.lower() in _DATE_FUNCTIONS:
            fix += (
                f" Or compare the bare column with a range (… {quote(col[1])} >= <start> AND "
                f"{quote(col[1])} < <end>) so that {index} serves it as it is."
            )
        add(
            ctx,
            "function-on-column",
            "warning",
            f"{where} applies {name}() to indexed column {relation.qualified}.{col[1]}, so "
            f"index {index} cannot be used",
            fix,
        )


def _leading_wildcard(ctx: Context, visit: Visit, node: ast.A_Expr) -> None:
    op = node.name[-1].sval if node.name else ""
    likes = (enums.A_Expr_Kind.AEXPR_LIKE, enums.A_Expr_Kind.AEXPR_ILIKE)
    if op not in ("~~", "~~*") and node.kind not in likes:
        return
    col, pattern = column(uncast(node.lexpr)), uncast(node.rexpr)
    value = pattern.val if isinstance(pattern, ast.A_Const) else None
    text = value.sval if isinstance(value, ast.String) else None
    relation = ctx.owner(col[0], visit) if col else None
    if col is None or relation is None or text is None or not text.startswith(("%", "_")):
        return
    if ctx.analyzed and visit.type == "Seq Scan":
        read: float | None = (
            float(visit.get("Actual Rows", 0)) + float(visit.get("Rows Removed by Filter", 0))
        ) * loops(visit)
    else:
        read = relation.rows
    figures = f" ({count(read)} rows read and matched)" if read is not None else ""
    keyword = "ILIKE" if op == "~~*" else "LIKE"
    add(
        ctx,
        "leading-wildcard",
        "info" if read is not None and read < LARGE_ROWS else "warning",
        f"{relation.qualified}.{col[1]} {keyword} '{text}' starts with a wildcard: no B-tree "
        f"index can look it up{figures}",
        f"CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY ON "
        f"{relation.sql} USING gin ({quote(col[1])} gin_trgm_ops);",
    )


# --- the query text: SELECT * --------------------------------------------------------------


def select_star_wide(ctx: Context) -> None:
    stmt = ctx.statement()
    if not isinstance(stmt, ast.SelectStmt) or stmt.op != enums.SetOperation.SETOP_NONE:
        return
    tables: dict[str, Relation] = {}
    for item in range_vars(stmt.fromClause):
        name = str(item.relname)
        if item.schemaname:
            qualified = f"{item.schemaname}.{name}"
            relation = Relation(qualified, ctx.schema.table(qualified), None)
        else:
            relation = ctx.relations.of(name)
        tables[str(item.alias.aliasname) if item.alias else name] = relation
    top = ctx.nodes[0] if ctx.nodes else None
    for target in stmt.targetList or ():
        ref = target.val
        parts = ref.fields or () if isinstance(ref, ast.ColumnRef) else ()
        if not parts or not isinstance(parts[-1], ast.A_Star):
            continue
        qualifier = ".".join(str(f.sval) for f in parts[:-1] if isinstance(f, ast.String))
        chosen = [(qualifier, tables[qualifier])] if qualifier in tables else list(tables.items())
        for alias, relation in chosen:
            table = relation.table
            if table is None or len(table.columns) < WIDE_COLUMNS:
                continue
            prefix = f"{quote(alias)}." if len(tables) > 1 or qualifier else ""
            listed = ", ".join(prefix + quote(c.name) for c in table.columns)
            figures = (
                f" ({count(rows(top, ctx.analyzed))} rows × {top.get('Plan Width', 0)} bytes)"
                if top
                else ""
            )
            add(
                ctx,
                "select-star-wide",
                "info",
                f"SELECT {qualifier + '.' if qualifier else ''}* returns all "
                f"{len(table.columns)} columns of {relation.qualified}{figures}",
                f"name only the columns the caller reads: SELECT {listed} (then drop the "
                "ones it does not use)",
            )
