"""Reading an EXPLAIN (FORMAT JSON) plan: its nodes in order, their row figures, the tables
they scan and the columns their conditions compare.

A plan node's row counts are per loop, and below a Gather they are per process: a parallel
scan's "Plan Rows" is its share, its "Actual Rows" the average over "Actual Loops" processes.
`Visit` carries what is needed to turn those into totals. Conditions (Filter, Index Cond, Join
Filter…) are printed by the server as SQL expressions; they are parsed back with pglast, so
that a column, a cast on it or a function around it is found in the tree, not in the text.
`Context` is one plan under review; plan_facts.py derives what the rules read around a node.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream

from dbarchitect.dialects.postgres.quoting import qname
from dbarchitect.model import Schema
from dbarchitect.model.schema import Table
from dbarchitect.review.finding import Finding
from dbarchitect.tune.model import Query
from dbarchitect.tune.tuner import Plan

CONDITIONS = ("Index Cond", "Recheck Cond", "Filter", "Join Filter", "Hash Cond", "Merge Cond")
SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan")
INDEX_LOOKUPS = ("Index Scan", "Index Only Scan", "Bitmap Heap Scan")


@dataclass(frozen=True, slots=True)
class Visit:
    """One plan node where the walk met it."""

    node: dict[str, Any]
    parent: Visit | None
    relationship: str  # "Outer", "Inner", "SubPlan", "InitPlan", "Member"… ("" at the top)
    divisor: float  # processes sharing the work below a Gather (1 elsewhere)
    partial: bool  # the node's rows are one process's share of a parallel scan

    @property
    def type(self) -> str:
        return str(self.node.get("Node Type", ""))

    def get(self, key: str, default: Any = None) -> Any:
        return self.node.get(key, default)

    def children(self, relationship: str | None = None) -> list[dict[str, Any]]:
        plans: list[dict[str, Any]] = self.node.get("Plans", [])
        if relationship is None:
            return plans
        return [p for p in plans if p.get("Parent Relationship") == relationship]

    def ancestors(self) -> Iterator[Visit]:
        up = self.parent
        while up is not None:
            yield up
            up = up.parent


def visits(plan: Plan) -> list[Visit]:
    """Every node of the plan in pre-order, InitPlans, SubPlans and CTEs included."""
    top = plan.get("Plan")
    if not isinstance(top, dict):
        return []
    partial: dict[int, bool] = {}
    _mark_partial(top, partial)
    out: list[Visit] = []

    def walk(node: dict[str, Any], parent: Visit | None, divisor: float) -> None:
        if node.get("Node Type") in _GATHERS:
            divisor = _parallel_divisor(int(node.get("Workers Planned", 0)))
        relationship = str(node.get("Parent Relationship", ""))
        visit = Visit(node, parent, relationship, divisor, partial[id(node)])
        out.append(visit)
        for child in node.get("Plans", []):
            walk(child, visit, divisor)

    walk(top, None, 1.0)
    return out


def _mark_partial(node: dict[str, Any], partial: dict[int, bool]) -> bool:
    """A node's output is partial when it scans in parallel, or passes on the partial rows
    of its first (outer) input; a Gather makes them whole again."""
    first: bool | None = None
    for child in node.get("Plans", []):
        mark = _mark_partial(child, partial)
        if first is None and child.get("Parent Relationship") in ("Outer", "Member"):
            first = mark
    partial[id(node)] = bool(node.get("Parallel Aware")) or (
        bool(first) and node.get("Node Type") not in _GATHERS
    )
    return partial[id(node)]


_GATHERS = ("Gather", "Gather Merge")


def _parallel_divisor(workers: int) -> float:
    # The planner's own share: workers, plus the leader while it still has time to help.
    leader = 1.0 - 0.3 * workers
    return workers + (leader if leader > 0 else 0.0)


def loops(visit: Visit) -> float:
    return float(visit.get("Actual Loops", 0) or 0)


def actual_rows(visit: Visit) -> float:
    """Rows the node produced over all its loops (analyzed plans)."""
    return float(visit.get("Actual Rows", 0) or 0) * loops(visit)


def planned_rows(visit: Visit) -> float:
    """Rows the planner expects the node to produce in one execution, all processes."""
    rows = float(visit.get("Plan Rows", 0) or 0)
    return rows * visit.divisor if visit.partial else rows


def rows(visit: Visit, analyzed: bool) -> float:
    """Rows out of the node: measured when analyzed, else the estimate."""
    return actual_rows(visit) if analyzed else planned_rows(visit)


@dataclass(frozen=True, slots=True)
class Relation:
    qualified: str
    table: Table | None
    rows: float | None  # pg_class.reltuples when explain() could read it; None if unknown

    @property
    def sql(self) -> str:
        """The table's name as SQL (quoted where needed)."""
        if self.table is None:
            return self.qualified
        return qname(self.table.schema or None, self.table.name)


class Relations:
    """Plan relation names → tables: through the "Relations" key `explain` adds (resolved by
    the server; the alias picks between same-named tables of two schemas), else through the
    schema (the name in `public` first)."""

    def __init__(self, plan: Plan, schema: Schema, nodes: list[Visit]) -> None:
        self.schema = schema
        self.known: dict[str, list[dict[str, Any]]] = {}
        for entry in plan.get("Relations", []):
            self.known.setdefault(str(entry.get("Relation Name")), []).append(entry)
        self.aliases: dict[str, str] = {}
        for visit in nodes:
            alias, name = visit.get("Alias"), visit.get("Relation Name")
            if alias and name:
                self.aliases.setdefault(str(alias), str(name))

    def of(self, name: str, alias: str | None = None) -> Relation:
        entries = self.known.get(name, [])
        entry = next((e for e in entries if alias in e.get("Aliases", ())), None)
        entry = entry or (entries[0] if entries else None)
        if entry is not None:
            qualified = f"{entry['Schema']}.{name}"
            found = float(entry.get("Rows", -1))
            return Relation(qualified, self.schema.table(qualified), found if found >= 0 else None)
        tables = sorted(
            (t for t in self.schema.tables if t.name == name), key=lambda t: t.schema != "public"
        )
        if tables:
            return Relation(tables[0].qualified, tables[0], None)
        return Relation(name, None, None)

    def scanned(self, visit: Visit) -> Relation | None:
        name = visit.get("Relation Name")
        return self.of(str(name), visit.get("Alias")) if name else None

    def by_alias(self, alias: str) -> Relation | None:
        name = self.aliases.get(alias)
        return self.of(name, alias) if name else None


# --- conditions ----------------------------------------------------------------------------

_SUBPLAN = re.compile(r"\b(?:hashed )?SubPlan \d+|\(InitPlan \d+\)\.col\d+")


@functools.lru_cache(maxsize=1024)
def parse_condition(text: str) -> ast.Node | None:
    """A condition as the server printed it, parsed; None when it is not plain SQL."""
    try:
        stmts = pglast.parse_sql("SELECT " + _SUBPLAN.sub("NULL", text))
    except pglast.parser.ParseError:
        return None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or not stmt.targetList:
        return None
    value: ast.Node = stmt.targetList[0].val
    return value


def nodes(tree: Any) -> Iterator[ast.Node]:
    """Every AST node under `tree`, depth first, in text order."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, ast.Node):
            yield item
            stack.extend(reversed([getattr(item, f) for f in item]))


def column(node: Any) -> tuple[str, str] | None:
    """(qualifier or "", column) of a bare column reference."""
    if not isinstance(node, ast.ColumnRef):
        return None
    parts = node.fields or ()
    fields = [str(f.sval) for f in parts if isinstance(f, ast.String)]
    if len(fields) != len(parts) or not fields:
        return None
    return (".".join(fields[:-1]), fields[-1])


def constant(node: Any) -> bool:
    """A value fixed for the scan: a literal, a parameter, or a cast of one."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, (ast.A_Const, ast.ParamRef, ast.A_ArrayExpr))


_EQ = frozenset({"="})
_RANGE = frozenset({"<", "<=", ">", ">="})


@dataclass(frozen=True, slots=True)
class Compared:
    """One column of a condition compared with something."""

    qualifier: str
    column: str
    op: str  # "eq", "range", "join" (equality with another column) or "other"


def compared(expr: ast.Node | None) -> list[Compared]:
    """The bare columns a condition compares, in text order, each once per kind."""
    out: list[Compared] = []
    for node in nodes(expr):
        if isinstance(node, ast.NullTest) and (col := column(node.arg)):
            out.append(Compared(col[0], col[1], "eq"))
        if not isinstance(node, ast.A_Expr):
            continue
        op = node.name[-1].sval if node.name else ""
        any_ = node.kind == enums.A_Expr_Kind.AEXPR_OP_ANY
        for this, other in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
            col = column(this)
            if col is None:
                continue
            if op in _EQ and column(other) is not None:
                kind = "join"
            elif op in _EQ and (constant(other) or any_):
                kind = "eq"
            elif op in _RANGE and constant(other):
                kind = "range"
            else:
                kind = "other"
            out.append(Compared(col[0], col[1], kind))
    return list(dict.fromkeys(out))


def deparse(node: ast.Node) -> str:
    """SQL text of an expression node."""
    return str(RawStream()(node))


def join_pairs(expr: ast.Node | None) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Equalities between two bare columns in a condition."""
    out = []
    for node in nodes(expr):
        if isinstance(node, ast.A_Expr) and node.name and node.name[-1].sval == "=":
            left, right = column(node.lexpr), column(node.rexpr)
            if left and right:
                out.append((left, right))
    return out


def uncast(node: Any) -> Any:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


# --- the plan under review -----------------------------------------------------------------


@dataclass
class Context:
    """One plan under review, its nodes, its relations, and the findings made so far."""

    query: Query
    plan: Plan
    schema: Schema
    analyzed: bool
    nodes: list[Visit] = field(init=False)
    relations: Relations = field(init=False)
    found: list[Finding] = field(default_factory=list)
    _by_node: dict[int, Visit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = visits(self.plan)
        self.relations = Relations(self.plan, self.schema, self.nodes)
        self._by_node = {id(v.node): v for v in self.nodes}

    @property
    def object(self) -> str:
        return self.query.source or self.query.fingerprint[:12]

    def visit(self, node: dict[str, Any]) -> Visit:
        return self._by_node[id(node)]

    def child(self, visit: Visit, relationship: str) -> Visit | None:
        found = visit.children(relationship)
        return self.visit(found[0]) if found else None

    def below(self, visit: Visit) -> list[Visit]:
        """`visit` and every node under it."""
        out = [visit]
        for child in visit.children():
            out += self.below(self.visit(child))
        return out

    def scanned_below(self, visit: Visit) -> list[str]:
        """Qualified names of the tables scanned at or under `visit`, sorted."""
        found = {r.qualified for v in self.below(visit) if (r := self.relations.scanned(v))}
        return sorted(found)

    def owner(self, qualifier: str, visit: Visit) -> Relation | None:
        """The relation a column of `visit`'s condition belongs to: by its alias, or the
        node's own relation (or the only one below it) when the server left it bare."""
        if qualifier:
            return self.relations.by_alias(qualifier)
        own = self.relations.scanned(visit)
        if own is not None:
            return own
        scans = {v.get("Relation Name") for v in self.below(visit) if v.get("Relation Name")}
        return self.relations.of(str(scans.pop())) if len(scans) == 1 else None

    def statement(self) -> ast.Node | None:
        """The query's own text, parsed (None when it does not parse)."""
        try:
            stmts = pglast.parse_sql(self.query.text)
        except pglast.parser.ParseError:
            return None
        return stmts[0].stmt if len(stmts) == 1 else None
