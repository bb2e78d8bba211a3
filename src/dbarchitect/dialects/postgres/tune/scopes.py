"""Name resolution for query shapes, the way PostgreSQL's parser does it (parse_relation.c).

A query level holds namespace items, one per FROM entry: a table, a view, a CTE, a derived
table, a function, or a join. Each item shows columns under names; behind every name are the
sources of its values — columns (or one-table expressions) of table *instances* (one instance per
appearance of a table in the query), so `a.id = b.id` over two aliases of one table is a join,
and a predicate on a derived table's pass-through column lands on the base table it comes from.
Also here: the catalog's view of a Schema, and `FromClause`, the part of the analysis that turns
WITH and FROM into namespace items (shape.py's analysis extends it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream

from dbarchitect.errors import InputError
from dbarchitect.model import Column, Schema

SYSTEM_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"})
# Columns whose values are large enough that fetching them needlessly costs real I/O.
WIDE_LOGICAL = frozenset({"text", "json", "jsonb", "binary", "xml", "fulltext"})


@dataclass(frozen=True, slots=True, order=True)
class Src:
    """Where a visible column's values come from: one column of one table instance, or (with
    `expr`) an expression over that instance's columns, printed with bare column names."""

    inst: int
    table: str  # qualified name of the base relation
    column: str  # the column, or for expressions the first column they read
    expr: str | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    """A table, materialized view or view as the resolver sees it."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    definition: str | None = None  # a plain view's query: resolved through, never scanned
    indexed: frozenset[str] = frozenset()  # columns that are a key of some index
    expression_keys: frozenset[str] = frozenset()  # canonical text of expression index keys

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def wide(self, column: str) -> bool:
        c = next((c for c in self.columns if c.name == column), None)
        return c is not None and (
            c.logical in WIDE_LOGICAL or c.type in ("character varying", "bytea")
        )


@dataclass(slots=True)
class Item:
    """One namespace item of a query level (parse_node.h's ParseNamespaceItem)."""

    name: str | None  # the reference name (alias, else relation or CTE name); None: hidden
    columns: list[tuple[str, tuple[Src, ...]]]  # in order; no sources = computed
    schema: str | None = None  # an unaliased table's schema, for schema.table.column refs
    cols_visible: bool = True  # unqualified column names resolve through this item
    opaque: bool = False  # a function whose columns we cannot know: takes any column name
    base: Relation | None = None  # the scanned relation of a table item
    pushdown: bool = True  # filters on its columns reach the base tables (planner pushdown)


@dataclass(slots=True)
class Level:
    """One query level; JOIN … ON opens a level of the same depth holding only the join's items."""

    parent: Level | None
    depth: int
    items: list[Item] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Found:
    srcs: tuple[Src, ...]
    depth: int
    item: Item
    whole_row: bool = False


class Catalog:
    """The relations of a Schema by name, with the search path PostgreSQL uses by default:
    an unqualified name is looked up in `public` first, then in the one schema that has it."""

    def __init__(self, schema: Schema) -> None:
        self.by_key: dict[tuple[str, str], Relation] = {}
        self.by_name: dict[str, list[Relation]] = defaultdict(list)
        for t in schema.tables:
            keys = [k for ix in t.indexes for k in ix.keys]
            plain = {k.column for k in keys if not k.expression}
            for con in ([t.primary_key] if t.primary_key else []) + list(t.uniques):
                plain.update(con.columns)
            exprs = frozenset(canonical(k.column) for k in keys if k.expression)
            self._add(Relation(t.schema, t.name, t.columns, None, frozenset(plain), exprs))
        for v in schema.views:
            plain = {k.column for ix in v.indexes for k in ix.keys if not k.expression}
            body = None if v.materialized else v.definition
            self._add(Relation(v.schema, v.name, v.columns, body, frozenset(plain)))
        self.by_qualified = {r.qualified: r for r in self.by_key.values()}

    def _add(self, rel: Relation) -> None:
        self.by_key[(rel.schema, rel.name)] = rel
        self.by_name[rel.name].append(rel)

    def find(self, schema: str | None, name: str) -> Relation:
        """The relation `schema.name` (or `name` on the search path); InputError naming it."""
        if schema is not None:
            rel = self.by_key.get((schema, name))
            if rel is None:
                raise InputError(f'relation "{schema}.{name}" does not exist')
            return rel
        rel = self.by_key.get(("public", name))
        if rel is not None:
            return rel
        found = sorted(self.by_name.get(name, []), key=lambda r: r.schema)
        if len(found) == 1:
            return found[0]
        if found:
            where = ", ".join(r.schema for r in found)
            raise InputError(f'relation "{name}" is not in schema public but in {where}')
        raise InputError(f'relation "{name}" does not exist')


_last: list[tuple[Schema, Catalog]] = []


def catalog(schema: Schema) -> Catalog:
    """The Catalog of `schema`, kept for the last schema seen (a workload reuses one)."""
    if _last and _last[0][0] is schema:
        return _last[0][1]
    made = Catalog(schema)
    _last[:] = [(schema, made)]
    return made


def resolve(level: Level, fields: tuple[str, ...]) -> Found:
    """The sources behind a column reference `fields` (column, rel.column, schema.rel.column),
    searched from the innermost level outwards; InputError as PostgreSQL words it."""
    if len(fields) == 1:
        return _unqualified(level, fields[0])
    *qual, col = fields[-4:]
    lv: Level | None = level
    while lv is not None:
        items = [it for it in lv.items if _refers(it, qual)]
        if len(items) > 1:
            raise InputError(f'table reference "{qual[-1]}" is ambiguous')
        if items:
            it = items[0]
            hits = [srcs for name, srcs in it.columns if name == col]
            if len(hits) > 1:
                raise InputError(f'column reference "{".".join(fields)}" is ambiguous')
            if hits:
                return Found(hits[0], lv.depth, it)
            if it.opaque or (col in SYSTEM_COLUMNS and it.base is not None):
                return Found((), lv.depth, it)
            raise InputError(f"column {'.'.join(fields[-2:])} does not exist")
        lv = lv.parent
    lv = level
    while lv is not None:  # a table hidden by its alias
        if any(it.base is not None and it.base.name == qual[-1] for it in lv.items):
            raise InputError(f'invalid reference to FROM-clause entry for table "{qual[-1]}"')
        lv = lv.parent
    raise InputError(f'missing FROM-clause entry for table "{qual[-1]}"')


def _refers(item: Item, qual: list[str]) -> bool:
    if item.name is None or item.name != qual[-1]:
        return False
    if len(qual) >= 2:  # schema.table.column: only an unaliased table of that schema
        return item.schema == qual[-2]
    return True


def _unqualified(level: Level, name: str) -> Found:
    lv: Level | None = level
    while lv is not None:
        hits = [
            (it, srcs)
            for it in lv.items
            if it.cols_visible
            for col, srcs in it.columns
            if col == name
        ]
        if len(hits) > 1:
            raise InputError(f'column reference "{name}" is ambiguous')
        if hits:
            return Found(hits[0][1], lv.depth, hits[0][0])
        opaque = [it for it in lv.items if it.cols_visible and it.opaque]
        if opaque:
            return Found((), lv.depth, opaque[0])
        lv = lv.parent
    # Not a column anywhere: a whole-row reference to a relation (`SELECT t FROM t`).
    lv = level
    while lv is not None:
        rows = [it for it in lv.items if it.name == name]
        if rows:
            srcs = tuple(s for _, ss in rows[0].columns for s in ss)
            return Found(srcs, lv.depth, rows[0], whole_row=True)
        lv = lv.parent
    bases = [it for it in level.items if it.base is not None]
    if name in SYSTEM_COLUMNS and len(bases) == 1:
        return Found((), level.depth, bases[0])
    raise InputError(f'column "{name}" does not exist')


def visible_columns(items: list[Item]) -> list[tuple[str, tuple[Src, ...]]]:
    """The columns an unqualified name (or `*`) sees across `items`, in order."""
    return [c for it in items if it.cols_visible for c in it.columns]


def one(columns: list[tuple[str, tuple[Src, ...]]], name: str, side: str) -> tuple[Src, ...]:
    """The single column `name` of one side of a USING/NATURAL join."""
    hits = [srcs for n, srcs in columns if n == name]
    if len(hits) > 1:
        raise InputError(f'common column name "{name}" appears more than once in {side} table')
    if not hits:
        raise InputError(
            f'column "{name}" specified in USING clause does not exist in {side} table'
        )
    return hits[0]


Columns = list[tuple[str, tuple[Src, ...]]]


@dataclass(slots=True)
class Out:
    """A (sub)query's output columns and whether filters on them reach its tables."""

    columns: Columns
    safe: bool = True


def rename(cols: Columns, names: Any) -> Columns:
    """Column aliases (`AS t(a, b)`) rename the first columns, in order."""
    new = [n.sval for n in names or ()]
    if len(new) > len(cols):
        raise InputError(f"{len(new)} column aliases for {len(cols)} columns")
    return [(new[i] if i < len(new) else n, s) for i, (n, s) in enumerate(cols)]


def merge(a: Columns, b: Columns) -> Columns:
    """The columns of a set operation: each takes its values from both arms."""
    return [(n, x + y) for (n, x), (_, y) in zip(a, b, strict=False)]


def refcounts(stmt: Any) -> dict[str, int]:
    """How often each unqualified name appears in FROM: a CTE read once is inlined."""
    counts: dict[str, int] = {}

    def visit(node: Any) -> None:
        if isinstance(node, tuple | list):
            for n in node:
                visit(n)
        elif isinstance(node, ast.Node):
            if isinstance(node, ast.RangeVar) and node.schemaname is None:
                name = str(node.relname)
                counts[name] = counts.get(name, 0) + 1
            for name in slots(node):
                visit(getattr(node, name, None))

    visit(stmt)
    return counts


class FromClause:
    """WITH and FROM → namespace items; the query and expression analysis comes from the
    subclass (shape.py), which supplies the methods below that raise NotImplementedError."""

    cat: Catalog
    insts: int  # table instances made so far: each FROM appearance of a table is a new one
    tables: set[str]
    views: list[str]  # the views being expanded, innermost last (a cycle is an error)
    frames: list[Any]  # the subqueries being analysed, for correlation
    ctes: list[dict[str, Out]]  # the CTEs in scope, innermost WITH last
    refcount: dict[str, int]
    text: Any  # the text whose positions the parse tree's locations refer to

    def view_text(self, sql: str) -> Any:
        raise NotImplementedError

    def statement(self, stmt: Any, parent: Level | None) -> Out:
        raise NotImplementedError

    def select(self, stmt: Any, parent: Level | None, *, top: bool = False) -> Out:
        raise NotImplementedError

    def expr(self, node: Any, level: Level) -> Any:
        raise NotImplementedError

    def conjuncts(self, node: Any, level: Level) -> None:
        raise NotImplementedError

    def join_keys(self, left: tuple[Src, ...], right: tuple[Src, ...]) -> None:
        raise NotImplementedError

    def with_(self, clause: Any, parent: Level | None) -> int:
        """Define a WITH clause's CTEs on the CTE stack; how many frames to pop afterwards."""
        if clause is None:
            return 0
        defined: dict[str, Out] = {}
        self.ctes.append(defined)
        for cte in clause.ctes:
            body, name = cte.ctequery, cte.ctename
            recursive = clause.recursive and isinstance(body, ast.SelectStmt)
            if recursive and body.op != enums.SetOperation.SETOP_NONE:
                first = self.select(body.larg, parent)
                defined[name] = Out(rename(first.columns, cte.aliascolnames), False)
                out = Out(merge(first.columns, self.select(body.rarg, parent).columns), False)
            else:
                out = self.statement(body, parent)
            inline = cte.ctematerialized != enums.CTEMaterialize.CTEMaterializeAlways
            safe = out.safe and not recursive and inline and self.refcount.get(name, 0) <= 1
            safe = safe and isinstance(body, ast.SelectStmt)
            defined[name] = Out(rename(out.columns, cte.aliascolnames), safe)
        return 1

    def from_item(self, node: Any, level: Level) -> list[Item]:
        """The namespace items one FROM entry adds to `level`."""
        alias = getattr(node, "alias", None)
        name = alias.aliasname if alias else None
        if isinstance(node, ast.RangeVar):
            return [self.relation(node)]
        if isinstance(node, ast.RangeTableSample):
            self.expr(node.args, level)
            return self.from_item(node.relation, level)
        if isinstance(node, ast.JoinExpr):
            return self.join(node, level)
        if isinstance(node, ast.RangeSubselect):
            out = self.select(node.subquery, level if node.lateral else level.parent)
            return [Item(name, rename(out.columns, alias and alias.colnames), pushdown=out.safe)]
        if isinstance(node, ast.RangeFunction):
            for fn in node.functions or ():  # function arguments may read earlier FROM items
                self.expr(fn[0], level)
            fn = node.functions[0][0] if node.functions else None
            if name is None and isinstance(fn, ast.FuncCall):
                name = last(fn.funcname).sval
            if alias and alias.colnames:
                return [Item(name, [(c.sval, ()) for c in alias.colnames])]
            if node.coldeflist:
                return [Item(name, [(c.colname, ()) for c in node.coldeflist])]
        return [Item(name, [], opaque=True)]  # functions, XMLTABLE: columns unknown to us

    def relation(self, rv: Any) -> Item:
        """A table, view or CTE named in FROM (a CTE shadows a table of the same name)."""
        alias = rv.alias
        name = alias.aliasname if alias else rv.relname
        colnames = alias and alias.colnames
        cte = next((d[rv.relname] for d in reversed(self.ctes) if rv.relname in d), None)
        if rv.schemaname is None and cte is not None:
            return Item(name, rename(cte.columns, colnames), pushdown=cte.safe)
        rel = self.cat.find(rv.schemaname, rv.relname)
        if rel.definition is None:
            return self.base_item(rel, alias)
        if rel.qualified in self.views:
            raise InputError(f'view "{rel.qualified}" refers to itself')
        try:
            body = parse_sql(rel.definition)[0].stmt
        except (ParseError, IndexError):
            raise InputError(f'view "{rel.qualified}": its definition does not parse') from None
        saved = self.frames, self.ctes, self.text  # a view's body sees nothing of the query
        self.frames, self.ctes, self.text = [], [], self.view_text(rel.definition)
        self.views.append(rel.qualified)
        try:
            out = self.select(body, None)
        finally:
            self.views.pop()
            self.frames, self.ctes, self.text = saved
        names = [c.name for c in rel.columns] or [n for n, _ in out.columns]
        cols = [(n, s) for n, (_, s) in zip(names, out.columns, strict=False)]
        schema = None if alias else rel.schema
        return Item(name, rename(cols, colnames), schema=schema, pushdown=out.safe)

    def base_item(self, rel: Relation, alias: Any) -> Item:
        """A new instance of a scanned table."""
        self.insts += 1
        self.tables.add(rel.qualified)
        cols: Columns = [(c.name, (Src(self.insts, rel.qualified, c.name),)) for c in rel.columns]
        return Item(
            alias.aliasname if alias else rel.name,
            rename(cols, alias and alias.colnames),
            schema=None if alias else rel.schema,
            base=rel,
        )

    def join(self, j: Any, level: Level) -> list[Item]:
        """A JOIN's items: its inputs (hidden from unqualified names, and from all names when
        the join has an alias) and the join itself, USING/NATURAL columns merged first."""
        left = self.from_item(j.larg, level)
        right = self.from_item(j.rarg, Level(level.parent, level.depth, level.items + left))
        lcols, rcols = visible_columns(left), visible_columns(right)
        if j.isNatural:
            names = list(dict.fromkeys(n for n, _ in lcols if n in {m for m, _ in rcols}))
        else:
            names = [s.sval for s in j.usingClause or ()]
        merged = []
        for name in names:
            ls, rs = one(lcols, name, "left"), one(rcols, name, "right")
            self.join_keys(ls, rs)
            kind = {enums.JoinType.JOIN_INNER: ls + rs, enums.JoinType.JOIN_LEFT: ls}
            merged.append((name, {**kind, enums.JoinType.JOIN_RIGHT: rs}.get(j.jointype, ())))
        if j.quals is not None:  # ON sees the join's own inputs and outer query levels
            self.conjuncts(j.quals, Level(level.parent, level.depth, left + right))
        alias = j.alias
        for it in left + right:  # an aliased join hides its inputs' names too
            it.cols_visible = False
            it.name = None if alias else it.name
        joined = Item(
            alias.aliasname if alias else None,
            rename(
                merged + [c for c in lcols + rcols if c[0] not in names], alias and alias.colnames
            ),
            pushdown=all(it.pushdown for it in left + right),
        )
        items = [*left, *right, joined]
        if j.join_using_alias is not None:
            items.append(Item(j.join_using_alias.aliasname, merged, cols_visible=False))
        return items


def deparse(node: Any) -> str:
    """`node` printed as one line of SQL."""
    return str(RawStream()(node))


def canonical(expr: str) -> str:
    """A comparison form of an index or predicate expression: casts of bare columns and
    schema qualifications of functions dropped (`lower((email)::text)` = `lower(email)`)."""
    try:
        tree = targets(f"SELECT {expr}")[0].val
    except (ParseError, IndexError, AttributeError):
        return expr
    return deparse(_strip(tree))


def _strip(node: Any) -> Any:
    if isinstance(node, tuple):
        return tuple(_strip(n) for n in node)
    if not isinstance(node, ast.Node):
        return node
    if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ColumnRef):
        return node.arg
    if isinstance(node, ast.FuncCall) and node.funcname and len(node.funcname) > 1:
        node.funcname = node.funcname[-1:]
    for name in slots(node):
        value = getattr(node, name, None)
        if isinstance(value, ast.Node | tuple):
            setattr(node, name, _strip(value))
    return node


def slots(node: Any) -> tuple[str, ...]:
    """The field names of a pglast node."""
    return tuple(getattr(node, "__slots__", ()))


def last(items: Any) -> Any:
    """The last element of a pglast tuple field (None when the field is empty)."""
    return items[-1] if items else None


def targets(sql: str) -> tuple[Any, ...]:
    """The select list of `sql`, a SELECT."""
    stmt: Any = parse_sql(sql)[0].stmt
    return tuple(stmt.targetList or ())
