"""Parameters of workload statements bound to values the planner finds typical, for EXPLAIN.

`bind` replaces each `$n` of a normalized statement, at its own span of the text so that all
else (literals, case, comments) stays byte for byte, with a value the planner finds typical:

- `col = $n`, `<>`, `IN ($a, $b)`, `= ANY($n)`: the column's most common value from pg_stats
  (the next common ones for the other members of a list), else the middle histogram bound;
- `col > $n`, `col < $n`, `BETWEEN $a AND $b`: bounds that leave a narrow slice (about 2% of
  the rows, counted from the most common values and the histogram together), the selective
  case an index is for, not half the table;
- `col LIKE $n`: a prefix of a common value followed by `%`;
- `LIMIT $n` → 100, `OFFSET $n` → 0; `SET col = $n` / `VALUES ($n)` → a common value of the
  column, or a NULL of its type (the planner does not look at assigned values).

Values are typed with the column's type (`'shipped'::text`). A parameter compared to no
column, or to one without statistics, stays a parameter: the text returned then still holds
`$1…$k` (renumbered in order), and that is the marker `explain` (explain.py) understands: it
plans such text as a generic plan. That works in a read-only session for reads; for a writing
statement `bind` raises InputError there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import ast, enums

from dbarchitect.dialects.postgres.quoting import literal
from dbarchitect.dialects.postgres.tune.explain import (
    param_location,
    param_number,
    param_refs,
    range_alias,
    short_name,
    statement,
)
from dbarchitect.engines.base import Session
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.model.schema import Table

LIMIT_VALUE = "100"
OFFSET_VALUE = "0"
SLICE = 0.02  # share of the rows a range parameter selects
ANY_VALUES = 10  # elements of the array bound to `= ANY($n)`

_PARAM = re.compile(r"\$(\d+)")
_OPS = (
    dict.fromkeys(("=", "<>", "!="), "eq")
    | dict.fromkeys(("<", "<="), "lt")
    | dict.fromkeys((">", ">="), "gt")
    | dict.fromkeys(("~~", "~~*", "!~~", "!~~*"), "like")
)
_FLIP = {"lt": "gt", "gt": "lt"}
_BETWEEN = frozenset(k for k in enums.A_Expr_Kind if "BETWEEN" in k.name)
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


def bind(session: Session, sql: str, schema: Schema) -> str:
    """`sql` with each `$n` parameter replaced by a representative value read from pg_stats
    through `session`; parameters no statistics can stand for stay (renumbered $1…$k) for
    `explain` to plan generically. Raises InputError when the text does not parse or cannot be
    planned at all (a writing statement with such a parameter on a read-only session)."""
    stmt, _ = statement(sql)
    params = param_refs(stmt)
    if not params:
        return sql
    collector = _Collector(schema)
    collector.walk(stmt, None)
    stats = _StatsCache(session)
    values: dict[int, str] = {}
    for use in sorted(collector.uses, key=lambda u: (u.location, u.index)):
        if use.number not in values:
            value = _value(use, stats)
            if value is not None:
                values[use.number] = value
    left = sorted({param_number(p) for p in params} - values.keys())
    if left and session.read_only and isinstance(stmt, _WRITES):
        kind = type(stmt).__name__.removesuffix("Stmt").upper()
        listed = ", ".join(f"${n}" for n in left)
        raise InputError(
            f"{short_name(sql)}: {kind} with parameter(s) {listed} that no column statistics"
            " can stand for cannot be planned on a read-only session"
        )
    renumber = {old: f"${new}" for new, old in enumerate(left, start=1)}
    out: list[str] = []
    at = 0
    for param in sorted(params, key=param_location):
        number = param_number(param)
        match = _PARAM.match(sql, param_location(param))
        if match is None or int(match.group(1)) != number:
            raise InputError(f"{short_name(sql)}: cannot locate parameter ${number}")
        text = values.get(number) or renumber[number]
        if number in values and sql[match.end() :].lstrip()[:1] in ("[", "."):
            text = f"({text})"  # `$1[2]` must not become `'{…}'::int[][2]`
        out.append(sql[at : match.start()])
        out.append(text)
        at = match.end()
    out.append(sql[at:])
    return "".join(out)


# --- where each parameter is used ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Use:
    number: int
    location: int
    kind: str  # eq in any gt lt lo hi like limit offset assign
    column: tuple[Table, str] | None = None
    index: int = 0  # position in an IN list


@dataclass(slots=True)
class _Scope:
    names: dict[str, Table | None]  # range alias → its table; None: columns unknown
    ctes: frozenset[str]
    parent: _Scope | None


@dataclass(slots=True)
class _Collector:
    schema: Schema
    uses: list[_Use] = field(default_factory=list)
    _by_name: dict[str, list[Table]] = field(default_factory=dict)

    def walk(self, node: Any, scope: _Scope | None) -> None:
        if isinstance(node, (tuple, list)):
            for item in node:
                self.walk(item, scope)
            return
        if not isinstance(node, ast.Node):
            return
        if isinstance(node, ast.SelectStmt):
            self._select(node, scope)
            return
        if isinstance(node, _WRITES):
            self._write(node, scope)
            return
        if isinstance(node, ast.A_Expr) and scope is not None:
            self._expr(node, scope)
        for name in node:
            self.walk(getattr(node, name), scope)

    def _with(self, clause: ast.WithClause | None, outer: _Scope | None) -> frozenset[str]:
        ctes = outer.ctes if outer else frozenset()
        if clause is None:
            return ctes
        ctes = ctes | {c.ctename for c in clause.ctes or ()}
        for cte in clause.ctes or ():
            self.walk(cte.ctequery, _Scope({}, ctes, outer))
        return ctes

    def _select(self, node: ast.SelectStmt, outer: _Scope | None) -> None:
        ctes = self._with(node.withClause, outer)
        scope = _Scope({}, ctes, outer)
        for param, kind in ((node.limitCount, "limit"), (node.limitOffset, "offset")):
            ref = _param(param)
            if ref is not None:
                self.uses.append(_Use(param_number(ref), param_location(ref), kind))
        if node.op != enums.SetOperation.SETOP_NONE:
            self.walk([node.larg, node.rarg], _Scope({}, ctes, outer))
            self.walk(node.sortClause, scope)
            return
        later = [self._range(item, scope) for item in node.fromClause or ()]
        done = {"withClause", "fromClause", "larg", "rarg", "limitCount", "limitOffset"}
        self.walk(later, scope)
        self.walk([getattr(node, f) for f in node if f not in done], scope)

    def _write(self, node: ast.Node, outer: _Scope | None) -> None:
        ctes = self._with(getattr(node, "withClause", None), outer)
        scope = _Scope({}, ctes, outer)
        relation = getattr(node, "relation", None)
        if not isinstance(relation, ast.RangeVar):
            return
        later = [self._range(relation, scope)]
        for extra in ("fromClause", "usingClause", "sourceRelation"):
            items = getattr(node, extra, None)
            items = items if isinstance(items, tuple) else (items,) if items else ()
            later += [self._range(item, scope) for item in items]
        table = scope.names.get(range_alias(relation))
        done = {"withClause", "relation", "fromClause", "usingClause", "sourceRelation"}
        if isinstance(node, ast.UpdateStmt) and table is not None:
            for target in node.targetList or ():
                self._assign(target.val, table, target.name)
        if isinstance(node, ast.InsertStmt):
            done.add("selectStmt")
            select = node.selectStmt
            if isinstance(select, ast.SelectStmt) and select.valuesLists and table is not None:
                names = (
                    [t.name for t in node.cols] if node.cols else [c.name for c in table.columns]
                )
                for row in select.valuesLists:
                    for name, item in zip(names, row, strict=False):
                        self._assign(item, table, name)
            self.walk(select, _Scope({}, ctes, outer))
            if table is not None:
                scope.names["excluded"] = table  # ON CONFLICT … DO UPDATE SET … excluded.col
        self.walk(later, scope)
        self.walk([getattr(node, f) for f in node if f not in done], scope)

    def _assign(self, value: Any, table: Table, column: str) -> None:
        ref = _param(value)
        if ref is not None and table.column(column) is not None:
            self.uses.append(
                _Use(param_number(ref), param_location(ref), "assign", (table, column))
            )

    def _range(self, item: Any, scope: _Scope) -> list[Any]:
        """Register a FROM item's names in `scope`; returns what to walk once all are known."""
        if isinstance(item, ast.RangeVar):
            cte = not item.schemaname and item.relname in scope.ctes
            scope.names[range_alias(item)] = None if cte else self._table(item)
            if item.schemaname and item.alias is None:
                scope.names[f"{item.schemaname}.{item.relname}"] = scope.names[range_alias(item)]
            return []
        if isinstance(item, ast.JoinExpr):
            later = self._range(item.larg, scope) + self._range(item.rarg, scope)
            if item.alias is not None:
                scope.names[str(item.alias.aliasname)] = None
            return [*later, item.quals]
        alias = getattr(item, "alias", None)
        if alias is not None:
            scope.names[str(alias.aliasname)] = None
        return [item]

    def _table(self, ref: ast.RangeVar) -> Table | None:
        if ref.schemaname:
            return self.schema.table(f"{ref.schemaname}.{ref.relname}")
        if not self._by_name:
            for table in self.schema.tables:
                self._by_name.setdefault(table.name, []).append(table)
        found = self._by_name.get(str(ref.relname), [])
        public = [t for t in found if t.schema == "public"]
        if len(public) == 1 or len(found) == 1:
            return (public or found)[0]
        return None

    def _expr(self, node: ast.A_Expr, scope: _Scope) -> None:
        kinds = enums.A_Expr_Kind
        op = node.name[-1].sval if node.name else ""
        left: Any = node.lexpr
        right: Any = node.rexpr
        if node.kind in (kinds.AEXPR_OP, kinds.AEXPR_LIKE, kinds.AEXPR_ILIKE) and op in _OPS:
            kind = _OPS[op]
            ref, column = _param(right), left
            if ref is None:
                ref, column, kind = _param(left), right, _FLIP.get(kind, kind)
            if ref is not None:
                self._use(ref, kind, column, scope)
        elif node.kind == kinds.AEXPR_OP_ANY and op == "=" and (ref := _param(right)):
            self._use(ref, "any", left, scope)
        elif node.kind == kinds.AEXPR_IN and isinstance(right, tuple):
            for index, item in enumerate(right):
                if (ref := _param(item)) is not None:
                    self._use(ref, "in", left, scope, index)
        elif node.kind in _BETWEEN and isinstance(right, tuple) and len(right) == 2:
            for item, kind in zip(right, ("lo", "hi"), strict=True):
                if (ref := _param(item)) is not None:
                    self._use(ref, kind, left, scope)

    def _use(
        self, ref: ast.ParamRef, kind: str, column: Any, scope: _Scope, index: int = 0
    ) -> None:
        resolved = _resolve(column, scope) if isinstance(column, ast.ColumnRef) else None
        self.uses.append(_Use(param_number(ref), param_location(ref), kind, resolved, index))


def _param(node: Any) -> ast.ParamRef | None:
    if isinstance(node, ast.TypeCast):
        node = node.arg
    return node if isinstance(node, ast.ParamRef) else None


def _resolve(ref: ast.ColumnRef, scope: _Scope | None) -> tuple[Table, str] | None:
    """The table a column reference belongs to, through the scopes as PostgreSQL looks:
    innermost first; None when it belongs to a subquery, a CTE or cannot be told."""
    parts = ref.fields or ()
    fields = [str(f.sval) for f in parts if isinstance(f, ast.String)]
    if len(fields) != len(parts) or not 1 <= len(fields) <= 3:
        return None
    column, qualifier = fields[-1], ".".join(fields[:-1])
    while scope is not None:
        if qualifier:
            if qualifier in scope.names:
                table = scope.names[qualifier]
                return (table, column) if table and table.column(column) else None
        else:
            hits = [t for t in scope.names.values() if t is not None and t.column(column)]
            if len(hits) == 1:
                return (hits[0], column)
            if hits or None in scope.names.values():
                return None
        scope = scope.parent
    return None


# --- representative values -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ColumnStats:
    common: tuple[str, ...]  # most common values, most frequent first
    freqs: tuple[float, ...]  # their shares of the rows
    bounds: tuple[str, ...]  # histogram bounds (of the other values), ascending
    null_frac: float


_STATS = """
SELECT most_common_vals::text::text[] AS common, most_common_freqs::float8[] AS freqs,
       histogram_bounds::text::text[] AS bounds, null_frac::float8 AS null_frac
FROM pg_catalog.pg_stats
WHERE schemaname = %s AND tablename = %s AND attname = %s
ORDER BY inherited DESC
LIMIT 1
"""


@dataclass(slots=True)
class _StatsCache:
    session: Session
    seen: dict[tuple[str, str, str], _ColumnStats | None] = field(default_factory=dict)
    orders: dict[tuple[str, str, str], list[tuple[str, float, float]]] = field(default_factory=dict)

    def get(self, table: Table, column: str) -> _ColumnStats | None:
        key = (table.schema, table.name, column)
        if key not in self.seen:
            col = table.column(column)
            stats = None
            # Array values would read back as nested arrays: plan those generically.
            if col is not None and not col.type.endswith("]"):
                rows = self.session.fetch(_STATS, key)
                if rows and (rows[0]["common"] or rows[0]["bounds"]):
                    row = rows[0]
                    stats = _ColumnStats(
                        common=tuple(row["common"] or ()),
                        freqs=tuple(float(f) for f in row["freqs"] or ()),
                        bounds=tuple(row["bounds"] or ()),
                        null_frac=float(row["null_frac"] or 0.0),
                    )
            self.seen[key] = stats
        return self.seen[key]

    def distribution(self, table: Table, column: str) -> list[tuple[str, float, float]]:
        """Every value pg_stats knows of the column in the column's own order, each with the
        share of rows below it and the share equal to it. The most common values are kept
        apart from the histogram, so only the server can tell where they fall among its
        bounds: it sorts them with the column's type."""
        key = (table.schema, table.name, column)
        stats, col = self.get(table, column), table.column(column)
        if key not in self.orders and stats is not None and col is not None:
            values = list(dict.fromkeys([*stats.common, *stats.bounds]))
            try:
                rows = self.session.fetch(
                    f"SELECT v::text AS v FROM unnest(%s::text[]::{col.type}[]) AS u(v)"
                    " ORDER BY u.v",
                    (values,),
                )
            except psycopg.Error:
                rows = []  # a type without an order (json, point): no range value, plan generic
            freq = dict(zip(stats.common, stats.freqs, strict=False))
            index = {b: i for i, b in enumerate(stats.bounds)}
            histogram = max(0.0, 1.0 - stats.null_frac - sum(stats.freqs))
            bucket = histogram / (len(stats.bounds) - 1) if len(stats.bounds) > 1 else 0.0
            below, out = 0.0, []
            for row in rows:
                value = str(row["v"])
                at = freq.get(value, 0.0)
                out.append((value, below, at))
                position = index.get(value)
                last = position is None or position == len(stats.bounds) - 1
                below += at + (0.0 if last else bucket)
            self.orders[key] = out
        return self.orders.get(key, [])


def _value(use: _Use, cache: _StatsCache) -> str | None:
    """SQL text of the value `use` should be planned with, or None to keep a parameter."""
    if use.kind == "limit":
        return LIMIT_VALUE
    if use.kind == "offset":
        return OFFSET_VALUE
    if use.column is None:
        return None
    table, name = use.column
    column = table.column(name)
    if column is None:
        return None
    stats = cache.get(table, name)
    if stats is None:
        return f"NULL::{column.type}" if use.kind == "assign" else None

    def typed(value: str) -> str:
        return f"{literal(value)}::{column.type}"

    pool = _pool(stats)
    if use.kind in ("eq", "assign"):
        return typed(pool[0])
    if use.kind == "in":
        return typed(pool[min(use.index, len(pool) - 1)])
    if use.kind == "any":
        return "ARRAY[" + ", ".join(typed(v) for v in pool[:ANY_VALUES]) + "]"
    if use.kind == "like":
        value = pool[0]
        prefix = value[: max(3, len(value) // 2)]
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return literal(escaped + "%")
    found = _slice(use.kind, cache.distribution(table, name), 1.0 - stats.null_frac)
    return typed(found) if found is not None else None


def _slice(kind: str, values: list[tuple[str, float, float]], total: float) -> str | None:
    """The bound that makes a range select about SLICE of the rows: `< v` from the bottom,
    `> v` from the top, BETWEEN from the middle up."""

    def best(candidates: list[tuple[float, str]]) -> str | None:
        scored = [(abs(share - SLICE), v) for share, v in candidates if share > 0]
        return min(scored)[1] if scored else None

    if kind == "lt":
        return best([(below, v) for v, below, _ in values])
    if kind == "gt":
        return best([(total - below - at, v) for v, below, at in values])
    middle = min(values, key=lambda x: abs(x[1] - total / 2), default=None)
    if middle is None or kind == "lo":
        return middle[0] if middle else None
    start = middle[1]
    return best([(below + at - start, v) for v, below, at in values if below >= start])


def _pool(stats: _ColumnStats) -> list[str]:
    """Distinct values in the order to use them: most common first, then histogram bounds
    spread from the middle outwards."""
    bounds = list(stats.bounds)
    middle = len(bounds) // 2
    spread = sorted(range(len(bounds)), key=lambda i: (abs(i - middle), i))
    out = list(dict.fromkeys([*stats.common, *(bounds[i] for i in spread)]))
    return out
