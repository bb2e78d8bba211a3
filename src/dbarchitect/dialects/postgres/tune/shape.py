"""A query's shape: what it asks of each table, read from PostgreSQL's own parse tree (pglast).

Every column reference is resolved through the query's scopes (scopes.py) the way PostgreSQL
resolves it — FROM aliases, JOIN … USING/NATURAL, CTEs (a CTE name shadows a table), derived
tables with column aliases, LATERAL, correlated subqueries — so a filter lands on the table
instance it filters, or the statement is refused with PostgreSQL's own complaint. Views are
resolved through their definition (the filters and joins inside them are the ones the planner
runs); materialized views are scanned like tables. Constants are kept exactly as written.
`x IS NULL` is recorded as an equality with value "NULL".

Conditions (WHERE, ON) are read by conditions.py; constants, patterns and the text they were
written as by literals.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

from dbarchitect.dialects.postgres.tune import scopes
from dbarchitect.dialects.postgres.tune.conditions import Conditions, Ex
from dbarchitect.dialects.postgres.tune.literals import SourceText, bare_sql, integer
from dbarchitect.dialects.postgres.tune.scopes import Found, Item, Level, Out, Src
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding
from dbarchitect.tune.model import JoinKey, Predicate, Shape, SortKey

_DML = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
_DDL = ("Create", "Alter", "Drop", "Rename", "Comment", "Grant", "Truncate", "Index", "Define")
_AGGREGATES = frozenset(
    {"count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or"}
    | {"every", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg", "xmlagg"}
    | {"stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "mode"}
    | {"bit_and", "bit_or", "bit_xor", "percentile_cont", "percentile_disc", "range_agg"}
)
_SUBLINK = enums.SubLinkType
DEEP_OFFSET = 1000
WIDE_COLUMNS = 20


def shape(sql: str, schema: Schema) -> Shape:
    """What `sql` asks of each table, every column resolved through its scopes and `schema`;
    InputError naming the reason when it cannot be analysed (utility statements and DDL, text
    that does not parse, unknown tables or columns, ambiguous references)."""
    try:
        raw = parse_sql(sql)
    except ParseError as e:
        raise InputError(f"does not parse: {e}") from None
    if len(raw) != 1:
        raise InputError(f"{len(raw)} statements where one was expected")
    stmt = raw[0].stmt
    if not isinstance(stmt, _DML):
        kind = type(stmt).__name__.removesuffix("Stmt")
        raise InputError(f"{'DDL' if kind.startswith(_DDL) else 'utility statement'} ({kind})")
    run = _Analysis(schema, SourceText(sql))
    run.refcount = scopes.refcounts(stmt)
    run.statement(stmt, None, top=True)
    return run.result()


@dataclass(slots=True)
class _Frame:
    depth: int  # the level holding the subquery; a reference at or above it correlates
    correlated: bool = False


class _Analysis(Conditions):
    def __init__(self, schema: Schema, text: SourceText) -> None:
        self.cat = scopes.catalog(schema)
        self.aggregates = _AGGREGATES | {f.name for f in schema.functions if f.kind == "aggregate"}
        self.text = text
        self.insts, self.views, self.frames, self.ctes, self.refcount = 0, [], [], [], {}
        self.tables: set[str] = set()
        self.preds: set[Predicate] = set()
        self.joins: set[JoinKey] = set()
        self.reads: set[tuple[str, str]] = set()
        self.order_by: list[SortKey] = []
        self.group_by: list[SortKey] = []
        self.limit: int | None = None
        self.offset: int | None = None
        self.writes: str | None = None
        self.findings: dict[tuple[str, str], Finding] = {}

    def view_text(self, sql: str) -> SourceText:
        return SourceText(sql)

    def result(self) -> Shape:
        return Shape(
            tables=tuple(sorted(self.tables)),
            predicates=tuple(sorted(self.preds, key=_pred_key)),
            joins=tuple(sorted(self.joins, key=_join_key)),
            order_by=tuple(dict.fromkeys(self.order_by)),
            group_by=tuple(dict.fromkeys(self.group_by)),
            reads=tuple(sorted(self.reads)),
            limit=self.limit,
            offset=self.offset,
            writes=self.writes,
            findings=tuple(sorted(self.findings.values(), key=Finding.sort_key)),
        )

    # --- statements --------------------------------------------------------------------

    def statement(self, stmt: Any, parent: Level | None, *, top: bool = False) -> Out:
        """Analyse one statement; `top` for the statement whose rows reach the client."""
        if isinstance(stmt, ast.SelectStmt):
            return self.select(stmt, parent, top=top)
        pushed = self.with_(stmt.withClause, parent)
        try:
            return self.modify(stmt, parent)
        finally:
            del self.ctes[len(self.ctes) - pushed :]

    def modify(self, stmt: Any, parent: Level | None) -> Out:
        """INSERT, UPDATE, DELETE, MERGE: the target is written; what they read is analysed."""
        rel = self.cat.find(stmt.relation.schemaname, stmt.relation.relname)
        if rel.definition is not None:
            raise InputError(f'writes through view "{rel.qualified}" are not analysed')
        target = self.base_item(rel, stmt.relation.alias)
        self.writes = self.writes or rel.qualified
        level = Level(parent, parent.depth + 1 if parent else 0, [target])
        if isinstance(stmt, ast.InsertStmt):
            self.tables.discard(rel.qualified)  # INSERT does not scan its target
            if stmt.selectStmt is not None:
                self.select(stmt.selectStmt, parent)
            if (conflict := stmt.onConflictClause) is not None:
                excluded = Item("excluded", [(n, ()) for n, _ in target.columns])
                on = Level(parent, level.depth, [target, excluded])
                self.expr([conflict.targetList, conflict.whereClause], on)
        else:
            extra = {ast.UpdateStmt: "fromClause", ast.DeleteStmt: "usingClause"}
            for node in getattr(stmt, extra.get(type(stmt), "x"), None) or ():
                level.items.extend(self.from_item(node, level))
            if isinstance(stmt, ast.MergeStmt):
                level.items.extend(self.from_item(stmt.sourceRelation, level))
                self.conjuncts(stmt.joinCondition, level)
                self.expr(stmt.mergeWhenClauses, level)
            else:
                self.expr(getattr(stmt, "targetList", None), level)
                self.conjuncts(stmt.whereClause, level)
        exprs = stmt.returningClause.exprs if stmt.returningClause else ()
        return Out([c for rt in exprs for c in self.output(rt, level, False)])

    def select(
        self, stmt: Any, parent: Level | None, *, top: bool = False, arm: bool = False
    ) -> Out:
        """Analyse a SELECT, set operation or VALUES; its output columns and their sources."""
        pushed = self.with_(stmt.withClause, parent)
        try:
            return self.query(stmt, parent, top, arm)
        finally:
            del self.ctes[len(self.ctes) - pushed :]

    def query(self, stmt: Any, parent: Level | None, top: bool, arm: bool) -> Out:
        level = Level(parent, parent.depth + 1 if parent else 0)
        limited = self.limits(stmt, top and not arm)
        if stmt.op != enums.SetOperation.SETOP_NONE:
            left = self.select(stmt.larg, parent, top=top, arm=True)
            right = self.select(stmt.rarg, parent, top=top, arm=True)
            safe = left.safe and right.safe and not limited
            return Out(scopes.merge(left.columns, right.columns), safe)
        if stmt.valuesLists:
            self.expr(stmt.valuesLists, level)
            return Out([(f"column{i + 1}", ()) for i in range(len(stmt.valuesLists[0]))])
        for node in stmt.fromClause or ():
            level.items.extend(self.from_item(node, level))
        self.conjuncts(stmt.whereClause, level)
        outputs: list[tuple[str, tuple[Src, ...], Any]] = []
        for rt in stmt.targetList or ():
            cols = self.output(rt, level, top)
            outputs.extend((n, s, None if len(cols) > 1 else rt.val) for n, s in cols)
        distinct_on = any(n is not None for n in stmt.distinctClause or ())
        self.expr([stmt.distinctClause, stmt.havingClause, stmt.windowClause], level)
        self.groups(stmt.groupClause or (), level, outputs)
        self.sorts(stmt.sortClause or (), level, outputs, top and not arm)
        # The planner pushes a filter into a subquery unless LIMIT, DISTINCT ON or a window
        # function (or a derived table below that stops it) stands in the way.
        safe = not (limited or distinct_on or any(_has_window(v) for _, _, v in outputs))
        safe = safe and all(it.pushdown for it in level.items)
        return Out([(n, s) for n, s, _ in outputs], safe)

    def limits(self, stmt: Any, top: bool) -> bool:
        count, offset = integer(stmt.limitCount), integer(stmt.limitOffset)
        if top:
            self.limit, self.offset = count, offset
        if offset is not None and offset >= DEEP_OFFSET:
            keys = ", ".join(scopes.deparse(s.node) for s in stmt.sortClause or ()) or "<key>"
            self.finding(
                "deep-offset",
                "warning",
                f"OFFSET {offset} reads and throws away {offset:,} rows before the first one "
                "it returns",
                f"keyset pagination: WHERE ({keys}) > (<the last row's values>) ORDER BY {keys} "
                f"LIMIT {count or '<n>'}",
            )
        return stmt.limitCount is not None or stmt.limitOffset is not None

    def output(self, rt: Any, level: Level, top: bool) -> scopes.Columns:
        val = rt.val
        if isinstance(val, ast.ColumnRef) and isinstance(scopes.last(val.fields), ast.A_Star):
            return self.star(val, level, top)
        ex = self.expr(val, level)
        srcs = ex.plain
        if not srcs and ex.refs and ex.one_table() and len(ex.instances()) == 1:
            first = min(ex.refs)  # an expression of one table: filters on it can use an index
            srcs = (Src(first.inst, first.table, first.column, bare_sql(val, ex.rename)),)
        return [(rt.name or _column_name(val), srcs)]

    def star(self, ref: Any, level: Level, top: bool) -> scopes.Columns:
        qual = [f.sval for f in ref.fields[:-1]]
        cols = scopes.visible_columns(level.items)
        if qual:
            items = [it for it in level.items if it.name == qual[-1]]
            if not items:
                raise InputError(f'missing FROM-clause entry for table "{qual[-1]}"')
            cols = items[0].columns
        by_table: dict[str, set[str]] = {}
        for s in (s for _, srcs in cols for s in srcs if s.expr is None):
            self.reads.add((s.table, s.column))
            by_table.setdefault(s.table, set()).add(s.column)
        for table, columns in sorted(by_table.items()) if top else ():
            wide = sorted(c for c in columns if self.cat.by_qualified[table].wide(c))
            if len(columns) >= WIDE_COLUMNS or wide:
                why = f"wide columns {', '.join(wide)}" if wide else f"{len(columns)} columns"
                self.finding(
                    "select-star",
                    "info",
                    f"SELECT * fetches every column of {table} ({why})",
                    f"name the columns of {table} the caller uses instead of *",
                )
        return list(cols)

    def groups(self, nodes: Iterable[Any], level: Level, outputs: list[Any]) -> None:
        for node in nodes:
            if isinstance(node, ast.GroupingSet):
                self.groups(node.content or (), level, outputs)
                continue
            if (n := integer(node)) is not None and 0 < n <= len(outputs):
                srcs = outputs[n - 1][1]
            else:
                try:  # GROUP BY prefers an input column, then an output column's name
                    srcs = self.expr(node, level).plain
                except InputError:
                    named = [s for name, s, _ in outputs if _name_of(node) == name]
                    if not named:
                        raise
                    srcs = named[0]
            self.group_by.extend(
                SortKey(table=s.table, column=s.column) for s in srcs if not s.expr
            )

    def sorts(self, nodes: Iterable[Any], level: Level, outputs: list[Any], top: bool) -> None:
        for sb in nodes:
            named = [s for name, s, _ in outputs if _name_of(sb.node) == name]
            if (n := integer(sb.node)) is not None:
                if not 0 < n <= len(outputs):
                    raise InputError(f"ORDER BY position {n} is not in select list")
                srcs = outputs[n - 1][1]
            elif named:  # ORDER BY prefers an output column's name, then an input column
                srcs = named[0]
            else:
                srcs = self.expr(sb.node, level).plain
            desc = sb.sortby_dir == enums.SortByDir.SORTBY_DESC
            keys = [SortKey(table=s.table, column=s.column, descending=desc) for s in srcs]
            self.order_by.extend(k for k, s in zip(keys, srcs, strict=True) if top and not s.expr)

    # --- expressions ---------------------------------------------------------------------

    def expr(self, node: Any, level: Level) -> Ex:
        ex = Ex(node)
        self.walk(node, level, ex)
        return ex

    def walk(self, node: Any, level: Level, ex: Ex) -> None:
        if isinstance(node, tuple | list):
            for n in node:
                self.walk(n, level, ex)
        elif isinstance(node, ast.ColumnRef):
            if isinstance(scopes.last(node.fields), ast.A_Star):  # count(t.*), row(t.*)
                ex.refs.extend(s for _, srcs in self.star(node, level, False) for s in srcs)
                ex.computed = True
                return
            found = scopes.resolve(level, tuple(f.sval for f in node.fields or ()))
            self.note(found)
            ex.refs.extend(found.srcs)
            ex.computed |= not found.srcs or found.whole_row
            ex.blocked |= bool(found.srcs) and not found.item.pushdown
            if len(found.srcs) == 1 and found.srcs[0].expr is None:
                ex.rename[id(node)] = found.srcs[0].column
            if node is ex.node and not found.whole_row:
                ex.plain = found.srcs
        elif isinstance(node, ast.ParamRef):
            ex.param = True
        elif isinstance(node, ast.SubLink):
            ex.sublink = True
            self.walk(node.testexpr, level, ex)
            self.sublink(node, level, convertible=False)
        elif isinstance(node, ast.Node):
            if isinstance(node, ast.FuncCall):
                agg = node.agg_star or node.agg_distinct or node.over is not None
                ex.agg |= agg or scopes.last(node.funcname).sval in self.aggregates
            for name in scopes.slots(node):
                if name != "location":
                    self.walk(getattr(node, name, None), level, ex)

    def note(self, found: Found) -> None:
        self.reads.update((s.table, s.column) for s in found.srcs if s.expr is None)
        for frame in self.frames:
            frame.correlated |= found.depth <= frame.depth

    def sublink(self, node: Any, level: Level, *, convertible: bool) -> Out:
        """Analyse a subquery in an expression. A correlated one runs once per outer row
        unless the planner turns it into a join: EXISTS (and NOT EXISTS) among the AND-ed
        conditions of WHERE/ON; PostgreSQL does not pull up a correlated IN."""
        frame = _Frame(level.depth)
        self.frames.append(frame)
        try:
            out = self.select(node.subselect, level)
        finally:
            self.frames.pop()
        if frame.correlated and not convertible:
            kind = {_SUBLINK.EXISTS_SUBLINK: "EXISTS", _SUBLINK.ANY_SUBLINK: "IN"}
            self.finding(
                "correlated-subquery",
                "warning",
                f"correlated {kind.get(node.subLinkType, 'scalar')} subquery runs once per "
                f"outer row: {scopes.deparse(node.subselect)[:120]}",
                "rewrite as a JOIN (or JOIN LATERAL) to the subquery grouped by its "
                "correlation columns, so that it runs once",
            )
        return out


def _name_of(node: Any) -> str | None:
    if isinstance(node, ast.ColumnRef) and len(node.fields or ()) == 1:
        return str(scopes.last(node.fields).sval)
    return None


def _has_window(node: Any) -> bool:
    if isinstance(node, tuple):
        return any(_has_window(n) for n in node)
    if not isinstance(node, ast.Node) or isinstance(node, ast.SubLink):
        return False
    if isinstance(node, ast.FuncCall) and node.over is not None:
        return True
    return any(_has_window(getattr(node, s, None)) for s in scopes.slots(node))


def _column_name(node: Any) -> str:
    """The name PostgreSQL gives an unnamed output column (FigureColname, common cases)."""
    while isinstance(node, ast.TypeCast | ast.CollateClause | ast.A_Indirection):
        if isinstance(node, ast.TypeCast) and not isinstance(node.arg, ast.ColumnRef):
            return str(scopes.last(node.typeName and node.typeName.names).sval)
        node = node.arg
    if isinstance(node, ast.ColumnRef):
        return str(scopes.last(node.fields).sval)
    if isinstance(node, ast.FuncCall):
        return str(scopes.last(node.funcname).sval)
    if isinstance(node, ast.SubLink) and node.subLinkType == _SUBLINK.EXISTS_SUBLINK:
        return "exists"
    return "case" if isinstance(node, ast.CaseExpr) else "?column?"


def _pred_key(p: Predicate) -> tuple[str, str, str, bool, str, bool]:
    return (p.table, p.column, p.op, p.expression, p.value or "", p.parameter)


def _join_key(j: JoinKey) -> tuple[str, str, str, str]:
    return (j.left_table, j.left_column, j.right_table, j.right_column)
