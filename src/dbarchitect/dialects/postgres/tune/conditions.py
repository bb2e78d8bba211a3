"""The conditions of a query (WHERE, ON, a MERGE's join condition) as predicates and join keys
of its shape, with the findings a condition alone shows: a pattern that starts with a
wildcard, a function or cast that hides an indexed column from its index.

`Conditions` is the part of shape.py's analysis that reads conditions; as in scopes.FromClause,
the expression analysis comes from the subclass, which supplies the methods below that raise
NotImplementedError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune import scopes
from dbarchitect.dialects.postgres.tune.literals import bare_sql, classify, is_literal, opname
from dbarchitect.dialects.postgres.tune.scopes import Level, Out, Src
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.tune.model import JoinKey, Predicate, PredicateOp

_K = enums.A_Expr_Kind
_SUBLINK = enums.SubLinkType


@dataclass(slots=True)
class Ex:
    """What an expression references, found while resolving it."""

    node: Any
    refs: list[Src] = field(default_factory=list)
    rename: dict[int, str] = field(default_factory=dict)  # ColumnRef id → bare column name
    plain: tuple[Src, ...] = ()  # the expression is one column reference with these sources
    computed: bool = False  # reads something we cannot trace to a table column
    blocked: bool = False  # reads through a derived table that filters do not reach
    param: bool = False
    sublink: bool = False
    agg: bool = False

    def instances(self) -> set[int]:
        return {s.inst for s in self.refs}

    def one_table(self) -> bool:
        """An expression of one table instance's own columns, fit for an expression index."""
        return not (self.computed or self.agg or self.sublink or any(s.expr for s in self.refs))


class Conditions(scopes.FromClause):
    """WHERE and ON conditions → predicates, join keys and findings."""

    preds: set[Predicate]
    joins: set[JoinKey]
    findings: dict[tuple[str, str], Finding]

    def expr(self, node: Any, level: Level) -> Ex:
        raise NotImplementedError

    def sublink(self, node: Any, level: Level, *, convertible: bool) -> Out:
        raise NotImplementedError

    def conjuncts(
        self, node: Any, level: Level, *, negated: bool = False, in_or: bool = False
    ) -> None:
        """The filters of a WHERE or ON clause, each AND-ed (or OR-ed) condition in turn."""
        if node is None:
            return
        if isinstance(node, ast.BoolExpr):
            if node.boolop == enums.BoolExprType.NOT_EXPR:
                self.conjuncts(scopes.last(node.args), level, negated=not negated, in_or=in_or)
                return
            in_or = in_or or node.boolop == enums.BoolExprType.OR_EXPR
            for arg in node.args or ():
                self.conjuncts(arg, level, negated=negated, in_or=in_or)
        elif isinstance(node, ast.SubLink) and node.subLinkType == _SUBLINK.EXISTS_SUBLINK:
            self.sublink(node, level, convertible=not in_or)
        elif isinstance(node, ast.SubLink) and node.subLinkType == _SUBLINK.ANY_SUBLINK:
            test = node.testexpr
            tests = (test.args or ()) if isinstance(test, ast.RowExpr) else (test,)
            out = self.sublink(node, level, convertible=False)
            for one, (_, srcs) in zip(tests, out.columns, strict=False):
                mine = self.expr(one, level)
                if negated:
                    self.filter(mine, "other", Ex(None), None)
                elif opname(node.operName) in ("=", ""):  # IN (SELECT …): a semi-join
                    self.join_keys(mine.plain, srcs)
        elif isinstance(node, ast.A_Expr):
            self.compare(node, level, negated)
        elif isinstance(node, ast.NullTest | ast.BooleanTest | ast.ColumnRef):
            # x IS NULL is an equality an index can search; so are a bare boolean column,
            # IS TRUE and IS FALSE. Their negations only filter.
            eq = not negated
            if isinstance(node, ast.NullTest):
                eq = eq and node.nulltesttype == enums.NullTestType.IS_NULL
            elif isinstance(node, ast.BooleanTest):
                yes = (enums.BoolTestType.IS_TRUE, enums.BoolTestType.IS_FALSE)
                eq = eq and node.booltesttype in yes
            ex = self.expr(node if isinstance(node, ast.ColumnRef) else node.arg, level)
            null = eq and isinstance(node, ast.NullTest)
            self.filter(ex, "eq" if eq else "other", Ex(None), "NULL" if null else None)
        else:
            self.expr(node, level)

    def compare(self, e: Any, level: Level, negated: bool) -> None:
        lhs, rhs = self.expr(e.lexpr, level), self.expr(e.rexpr, level)
        op, leading = classify(e)
        op = "other" if negated else op
        apart = lhs.instances().isdisjoint(rhs.instances())
        if op == "eq" and e.kind == _K.AEXPR_OP and lhs.plain and rhs.plain and apart:
            self.join_keys(lhs.plain, rhs.plain)
            return
        both = e.kind in (_K.AEXPR_OP, _K.AEXPR_DISTINCT, _K.AEXPR_NOT_DISTINCT)
        for side, other in [(lhs, rhs), (rhs, lhs)] if both else [(lhs, rhs)]:
            if side.plain and side.plain == other.plain:  # a CTE joined to itself
                continue
            if side.instances() & other.instances():
                # Two columns of one row compared: a filter, never an index search key.
                self.add(side.plain, "other", side, None)
                continue
            value = None
            if op != "other" and is_literal(other.node):
                value = self.text.literal(other.node, e.location, before=other is lhs)
            done = self.filter(side, op, other, value)
            for table, column in done if leading else ():
                key = f"({column})" if side.rename.get(id(side.node)) is None else quote(column)
                self.finding(
                    "leading-wildcard",
                    "warning",
                    f"{scopes.deparse(e)[:120]}: a pattern that starts with a wildcard cannot "
                    f"use a B-tree index on {table}.{column}",
                    "CREATE EXTENSION IF NOT EXISTS pg_trgm; "
                    f"CREATE INDEX ON {self.quoted(table)} USING gin ({key} gin_trgm_ops);",
                )

    def filter(self, side: Ex, op: PredicateOp, other: Ex, value: str | None) -> list[Any]:
        """Record `side` (a column, or an expression of one table) filtered by `op`."""
        if side.blocked or side.sublink or side.agg or not side.refs:
            return []
        if side.plain:
            return self.add(side.plain, op, other, value)
        if not side.one_table() or len(side.instances()) != 1:
            return []
        src, text = min(side.refs), bare_sql(side.node, side.rename)
        rel = self.cat.by_qualified[src.table]
        hit = sorted({s.column for s in side.refs} & rel.indexed)
        if hit and op in ("eq", "range") and scopes.canonical(text) not in rel.expression_keys:
            self.finding(
                "non-sargable",
                "warning",
                f"{text} on {src.table}: the function or cast hides indexed column {hit[0]} "
                "from its index",
                f"rewrite as a range on {hit[0]} itself ({hit[0]} >= <start> AND {hit[0]} "
                f"< <end>) where it is one, else "
                f"CREATE INDEX ON {self.quoted(src.table)} (({text}));",
            )
        return self.add((Src(src.inst, src.table, src.column, text),), op, other, value)

    def add(
        self, srcs: tuple[Src, ...], op: PredicateOp, other: Ex, value: str | None
    ) -> list[Any]:
        param = other.param and not other.refs and not other.sublink
        for s in srcs:
            self.preds.add(
                Predicate(
                    table=s.table,
                    column=s.expr or s.column,
                    op=op,
                    expression=s.expr is not None,
                    value=value,
                    parameter=param,
                )
            )
        return [(s.table, s.expr or s.column) for s in srcs]

    def join_keys(self, left: tuple[Src, ...], right: tuple[Src, ...]) -> None:
        for a in left:
            for b in right:
                if a.inst != b.inst and a.expr is None and b.expr is None:
                    (t1, c1), (t2, c2) = sorted([(a.table, a.column), (b.table, b.column)])
                    self.joins.add(
                        JoinKey(left_table=t1, left_column=c1, right_table=t2, right_column=c2)
                    )

    def quoted(self, table: str) -> str:
        """A table of the catalog as SQL: its schema and name, quoted where needed."""
        rel = self.cat.by_qualified[table]
        return f"{quote(rel.schema)}.{quote(rel.name)}"

    def finding(self, rule: str, severity: Severity, message: str, fix: str) -> None:
        """Record a finding of rule tune/`rule` (the first one of each message)."""
        self.findings.setdefault(
            (rule, message),
            Finding(
                rule=f"tune/{rule}",
                severity=severity,
                kind="query",
                object="",
                message=message,
                fix=fix,
            ),
        )
