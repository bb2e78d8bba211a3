"""Query shapes through sqlglot, for engines without a parser of their own here.

PostgreSQL has pglast; SQLite and MariaDB are read with sqlglot in the engine's own dialect
(`dialect` is its sqlglot name, which the dialect package passes). Every column is resolved by
sqlglot's scope analysis (`qualify` with a schema built from ours), so aliases, CTEs, derived
tables, views and correlated subqueries lead back to base-table columns. Literals are reported
exactly as written: their text is sliced from the statement, never regenerated or lower-cased.

Parameter markers (`?`, `?NNN`, `:name`, `@name`, `$name`, `%s`) are renamed `:pN` before
parsing, so each placeholder in the tree names its span in the original text; `parameters()`
says which column each one is compared to, for the tuners that bind representative values.

The parts: sqlglot_text.py (markers, parsing, fingerprints, binding), sqlglot_resolve.py (the
catalog, name checks, column resolution), sqlglot_state.py (what the walk gathers),
sqlglot_findings.py (static findings); this module walks the scopes and is the entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.tune.model import JoinKey, Predicate, PredicateOp, Shape, SortKey
from dbarchitect.tune.sqlglot_findings import (
    deep_offset,
    implicit_cast,
    leading_wildcard,
    non_sargable,
    root_stars,
    select_star,
)
from dbarchitect.tune.sqlglot_resolve import (
    Catalog,
    check_names,
    expand_views,
    local_columns,
    resolve,
    written,
)
from dbarchitect.tune.sqlglot_state import State
from dbarchitect.tune.sqlglot_text import Parameter, Role, bind_values, first_line, fold, parse

_EQ = (exp.EQ, exp.NullSafeEQ)
_RANGE = (exp.GT, exp.GTE, exp.LT, exp.LTE)


# --- statement forms ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Statement:
    query: exp.Expr | None  # what to qualify and analyse: a SELECT or a set operation
    writes: str | None = None  # folded name of the table written
    columns: list[str] = field(default_factory=list)  # INSERT's column list
    rows: list[exp.Expr] = field(default_factory=list)  # INSERT's VALUES rows


def _statement(tree: exp.Expr) -> _Statement:
    """DML becomes the SELECT that finds its rows; UPDATE's `SET a = x` a projection `a = x`."""
    if isinstance(tree, (exp.Select, exp.SetOperation)):
        return _Statement(query=tree)
    if isinstance(tree, exp.Insert):
        target, source = tree.this, tree.expression
        table = target.this if isinstance(target, exp.Schema) else target
        query = source if isinstance(source, (exp.Select, exp.SetOperation)) else None
        return _Statement(
            query=query,
            writes=table.name,
            columns=[c.name for c in target.expressions] if isinstance(target, exp.Schema) else [],
            rows=list(source.expressions) if isinstance(source, exp.Values) else [],
        )
    if isinstance(tree, (exp.Update, exp.Delete)) and isinstance(tree.this, exp.Table):
        target = tree.this.copy()
        joins = target.args.get("joins") or []
        target.set("joins", None)
        sets = [e.copy() for e in tree.expressions] if isinstance(tree, exp.Update) else []
        select = exp.Select(expressions=sets or [exp.Literal.number(1)])
        select.set("from_", exp.From(this=target))
        extra = tree.args.get("from_") or tree.args.get("using")
        if isinstance(extra, exp.From):
            joins = [*joins, exp.Join(this=extra.this.copy())]
        if joins:
            select.set("joins", joins)
        for key in ("where", "order", "limit"):
            if tree.args.get(key) is not None:
                select.set(key, tree.args[key].copy())
        return _Statement(query=select, writes=tree.this.name)
    raise InputError(f"not a query: {tree.key.upper()} statements are not analysed")


# --- what each scope asks ----------------------------------------------------------------------


def _collect(scope: Scope, st: State, *, root: bool, assigns: bool) -> None:
    """Tables, columns read, predicates, joins and sort keys of one scope."""
    for source in scope.sources.values():
        if isinstance(source, exp.Table) and source.name in st.catalog.columns:
            st.tables.add(st.catalog.real[source.name])
    for col in scope.columns:
        st.reads.update(resolve(col, scope, st.catalog))
    select = scope.expression
    if not isinstance(select, exp.Select):
        return
    conditions = [select.args["where"].this] if select.args.get("where") else []
    conditions += [j.args["on"] for j in select.args.get("joins") or [] if j.args.get("on")]
    for condition in conditions:
        for conjunct in condition.flatten() if isinstance(condition, exp.And) else [condition]:
            _conjunct(conjunct.unnest(), scope, st)
    group = select.args.get("group")
    for key in group.expressions if group else []:
        if isinstance(key, exp.Column):
            st.group_by += [SortKey(table=t, column=c) for t, c in resolve(key, scope, st.catalog)]
    if assigns:  # UPDATE … SET a = ?: the parameter is a value of column a
        for eq in (p.unalias() for p in select.selects):
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
                for t, c in resolve(eq.this, scope, st.catalog)[:1]:
                    st.bind(eq.expression, "value", t, c)
    if root:
        _root(select, scope, st)


def _root(select: exp.Select, scope: Scope, st: State) -> None:
    projections = {p.alias_or_name: p.unalias() for p in select.selects}
    order = select.args.get("order")
    for ordered in order.expressions if order else []:
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table and key.name in projections:
            key = projections[key.name]
        if isinstance(key, exp.Literal) and key.is_int and 0 < int(key.name) <= len(select.selects):
            key = select.selects[int(key.name) - 1].unalias()
        if isinstance(key, exp.Column):
            desc = bool(ordered.args.get("desc"))
            for t, c in resolve(key, scope, st.catalog):
                st.order_by.append(SortKey(table=t, column=c, descending=desc))
    for arg in ("limit", "offset"):
        role: Role = "limit" if arg == "limit" else "offset"
        node = select.args.get(arg)
        value = node.expression if node is not None else None
        if isinstance(value, exp.Placeholder):
            st.bind(value, role, None, None)
        elif isinstance(value, exp.Literal) and value.is_int:
            setattr(st, arg, int(value.name))
    deep_offset(st)


def _conjunct(cond: exp.Expr, scope: Scope, st: State) -> None:
    """Classify one AND-ed condition into predicates and join keys."""
    if isinstance(cond, exp.Escape):
        cond = cond.this
    if isinstance(cond, (*_EQ, *_RANGE, exp.NEQ)):
        left, right = cond.this, cond.expression
        if local_columns(left) and local_columns(right):
            _two_sided(cond, left, right, scope, st)
            return
        side, other = (left, right) if local_columns(left) else (right, left)
        op: PredicateOp = "eq" if isinstance(cond, _EQ) else "range"
        _predicate(side, [other], "other" if isinstance(cond, exp.NEQ) else op, scope, st)
    elif isinstance(cond, exp.Is) and isinstance(cond.expression, exp.Null):
        _predicate(cond.this, [cond.expression], "eq", scope, st)
    elif isinstance(cond, exp.In) and not _local_columns_of(cond.expressions):
        single = cond.expressions if len(cond.expressions) == 1 else []
        _predicate(cond.this, cond.expressions, "eq", scope, st, value_from=single)
    elif isinstance(cond, exp.Between):
        _predicate(
            cond.this, [cond.args["low"], cond.args["high"]], "range", scope, st, value_from=[]
        )
    elif isinstance(cond, (exp.Like, exp.ILike, exp.Glob)):
        _pattern(cond, scope, st)
    elif isinstance(cond, exp.Or):
        _disjunction(cond, scope, st)
    else:
        _others(cond, scope, st)
    _bind_nearby(cond, scope, st)


def _bind_nearby(cond: exp.Expr, scope: Scope, st: State) -> None:
    """Parameters no rule above placed take the column of the nearest comparison around them
    (`a = ? OR b = ?`, `a + ? > 3`)."""
    for placeholder in cond.find_all(exp.Placeholder):
        node = placeholder.parent
        while node is not None and node is not cond.parent:
            compares = isinstance(node, (exp.Binary, exp.In, exp.Between))
            cols = local_columns(node) if compares and not isinstance(node, exp.Connector) else []
            if cols:
                for t, c in resolve(cols[0], scope, st.catalog)[:1]:
                    st.bind(placeholder, "value", t, c)
                break
            node = node.parent


def _local_columns_of(nodes: list[exp.Expr]) -> list[exp.Column]:
    return [c for n in nodes for c in local_columns(n)]


def _two_sided(cond: exp.Expr, left: exp.Expr, right: exp.Expr, scope: Scope, st: State) -> None:
    both = isinstance(left, exp.Column) and isinstance(right, exp.Column)
    if isinstance(cond, _EQ) and both and left.text("table") != right.text("table"):
        assert isinstance(left, exp.Column) and isinstance(right, exp.Column)
        for lt, lc in resolve(left, scope, st.catalog):
            for rt, rc in resolve(right, scope, st.catalog):
                (a, b), (c, d) = sorted([(lt, lc), (rt, rc)])
                st.joins.add(JoinKey(left_table=a, left_column=b, right_table=c, right_column=d))
        return
    _others(cond, scope, st)


def _others(cond: exp.Expr, scope: Scope, st: State) -> None:
    for col in local_columns(cond):
        for t, c in resolve(col, scope, st.catalog):
            st.predicates.add(Predicate(table=t, column=c, op="other"))


def _disjunction(cond: exp.Or, scope: Scope, st: State) -> None:
    """`a = 1 OR a = 2` is an equality on a; any other OR filters its columns somehow."""
    parts = list(cond.flatten())
    eqs = [p.unnest() for p in parts]
    cols = {
        tuple(resolve(p.this, scope, st.catalog))
        for p in eqs
        if isinstance(p, exp.EQ)
        and isinstance(p.this, exp.Column)
        and not local_columns(p.expression)
    }
    if len(cols) == 1 and all(isinstance(p, exp.EQ) for p in eqs):
        for t, c in next(iter(cols)):
            st.predicates.add(Predicate(table=t, column=c, op="eq", parameter=_has_parameter(eqs)))
        return
    _others(cond, scope, st)


def _has_parameter(nodes: list[exp.Expr]) -> bool:
    return any(n.find(exp.Placeholder) is not None for n in nodes)


def _predicate(
    side: exp.Expr,
    others: list[exp.Expr],
    op: PredicateOp,
    scope: Scope,
    st: State,
    *,
    value_from: list[exp.Expr] | None = None,
) -> None:
    """A filter of `side` (a column, or an expression of one table's columns) by constants."""
    literal_of = others if value_from is None else value_from
    value = st.literal(literal_of[0]) if len(literal_of) == 1 else None
    parameter = _has_parameter(others)
    columns = [rc for c in local_columns(side) for rc in resolve(c, scope, st.catalog)]
    if not columns:
        return
    expression = not isinstance(side, exp.Column)
    if expression and len({t for t, _ in columns}) > 1:
        for t, c in columns:
            st.predicates.add(Predicate(table=t, column=c, op="other"))
        return
    table = columns[0][0]
    targets = [(table, st.expression_text(side, scope))] if expression else columns
    for t, c in targets:
        st.predicates.add(
            Predicate(
                table=t, column=c, op=op, expression=expression, value=value, parameter=parameter
            )
        )
    for other in others:
        for node in [other, *other.find_all(exp.Placeholder)]:
            st.bind(node, "value", columns[0][0], columns[0][1])
    if expression:
        non_sargable(side, columns, targets[0][1], st)
    elif st.implicit_casts and op != "other":
        implicit_cast(columns[0], others, st)


def _pattern(cond: exp.Expr, scope: Scope, st: State) -> None:
    pattern = cond.expression
    wild = "*?[" if isinstance(cond, exp.Glob) else "%_"
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        leading = pattern.name[:1] in wild if pattern.name else False
        op: PredicateOp = "like_infix" if leading or isinstance(cond, exp.ILike) else "range"
        _predicate(cond.this, [pattern], op, scope, st)
        if leading:
            leading_wildcard(cond.this, pattern, scope, st)
    else:
        _predicate(cond.this, [pattern], "other", scope, st)


# --- entry points ------------------------------------------------------------------------------


def shape(sql: str, schema: Schema, dialect: str, *, implicit_casts: bool = False) -> Shape:
    """What the query asks of each table, every column resolved through its scopes and the
    catalog. `implicit_casts`: the engine cannot use an index on a text column compared to a
    number (MySQL/MariaDB), so such predicates are reported as non-sargable. InputError(reason)
    for unknown tables, unknown or ambiguous columns and statements that are not queries."""
    return _analyse(sql, schema, dialect, implicit_casts)[0]


def parameters(sql: str, schema: Schema, dialect: str) -> list[Parameter]:
    """Every parameter marker of `sql` in text order, with the column it is compared to or
    assigned (to bind a representative value) or its LIMIT/OFFSET role."""
    return _analyse(sql, schema, dialect, False)[1]


def _analyse(
    sql: str, schema: Schema, dialect: str, implicit_casts: bool
) -> tuple[Shape, list[Parameter]]:
    tree, text = parse(sql, dialect)
    catalog = Catalog(schema)
    fold(tree)
    stmt = _statement(tree)
    st = State(catalog, text, dialect, implicit_casts)
    target = None
    if stmt.writes is not None:
        if stmt.writes not in catalog.columns or stmt.writes in catalog.views:
            raise InputError(f"unknown table {stmt.writes}")
        target = catalog.real[stmt.writes]
        st.tables.add(target)
        names = catalog.columns[stmt.writes]
        for name in stmt.columns:
            if name not in names:
                raise InputError(f"unknown column {name} in table {target}")
        order = stmt.columns or list(names)
        for row in stmt.rows:
            for i, item in enumerate(row.expressions if isinstance(row, exp.Tuple) else []):
                if i < len(order):
                    st.bind(item, "value", target, names.get(order[i]))
    if stmt.query is not None:
        expand_views(stmt.query, catalog, dialect)
        stars = root_stars(stmt.query)
        check_names(stmt.query, catalog, text)
        try:
            qualify(
                stmt.query, dialect=dialect, schema=catalog.mapping(), identify=False,
                quote_identifiers=False, validate_qualify_columns=True,
            )  # fmt: skip
        except SqlglotError as exc:
            raise InputError(f"cannot resolve columns: {first_line(exc)}") from None
        scopes = traverse_scope(stmt.query)
        assigns = isinstance(tree, exp.Update)
        for scope in scopes:
            _collect(scope, st, root=scope is scopes[-1], assigns=assigns and scope is scopes[-1])
        if scopes:
            select_star(scopes[-1], stars, st)
        for node in stmt.query.find_all(exp.Placeholder):
            st.bind(node, "other", None, None)
    return st.shape(target), st.parameters()


def bind(
    sql: str, schema: Schema, dialect: str, sample: Callable[[str, str], Sequence[str]]
) -> str:
    """`sql` with every parameter replaced by a representative literal: `sample(table, column)`
    gives SQL literals of the column's most common values, most common first; the k-th
    parameter on one column takes the k-th value (an IN list gets distinct ones), a name used
    twice takes one value. LIMIT binds 10 and OFFSET 0. InputError when a parameter is not
    compared to a column or its column holds no value."""
    return bind_values(sql, parameters(sql, schema, dialect), sample)


def table_aliases(sql: str, schema: Schema, dialect: str) -> dict[str, str]:
    """Each name a plan may call a table by (its alias, or its name as written) → the table."""
    tree, text = parse(sql, dialect)
    catalog = Catalog(schema)
    fold(tree)
    expand_views(tree, catalog, dialect)
    out: dict[str, str] = {}
    for table in tree.find_all(exp.Table):
        real = catalog.real.get(table.name)
        alias = table.args.get("alias")
        shown = alias.this if isinstance(alias, exp.TableAlias) and alias.this else table.this
        if real is not None and isinstance(shown, exp.Identifier):
            out[written(shown, text)] = real
    return out


def key_columns(shape: Shape | None, table: str, *, sort: bool) -> list[str]:
    """Index keys one plan finding proposes for `table`: equalities, then ranges (then the
    query's sort keys when `sort`); expressions in parentheses."""
    if shape is None:
        return []
    preds = [p for p in shape.predicates if p.table == table]
    cols = [f"({p.column})" if p.expression else p.column for p in preds if p.op == "eq"]
    cols += [f"({p.column})" if p.expression else p.column for p in preds if p.op == "range"]
    if sort:
        keys = [k for k in (*shape.order_by, *shape.group_by) if k.table == table]
        cols += [k.column + (" DESC" if k.descending else "") for k in keys]
    return list(dict.fromkeys(cols))


__all__ = [
    "Parameter",
    "bind",
    "key_columns",
    "parameters",
    "shape",
    "table_aliases",
]
