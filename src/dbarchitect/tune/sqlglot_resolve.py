"""Names in a statement as sqlglot sees them: our schema as a catalog under folded names, views
expanded into their bodies, unknown and ambiguous names refused with a precise message, and
each column traced back through its scopes to the base-table columns behind it.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.tune.sqlglot_text import SourceText, fold

_NESTED = (exp.Select, exp.Subquery, exp.SetOperation)

# --- the catalog as sqlglot sees it ------------------------------------------------------------


class Catalog:
    """Our schema under folded names: sqlglot resolves lower-cased identifiers and we map its
    answers back to the engine's spelling (SQLite and MySQL column names are case-insensitive,
    and so are SQLite's table names). Names differing only by case: the first one wins."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.real: dict[str, str] = {}
        self.columns: dict[str, dict[str, str]] = {}
        self.views: dict[str, tuple[str, tuple[str, ...]]] = {}
        for table in schema.tables:
            key = table.name.lower()
            if key not in self.real:
                self.real[key] = table.qualified
                self.columns[key] = {c.name.lower(): c.name for c in table.columns}
        for view in schema.views:
            key = view.name.lower()
            if key not in self.real:
                self.real[key] = view.qualified
                self.columns[key] = {c.name.lower(): c.name for c in view.columns}
                self.views[key] = (view.definition, tuple(c.name for c in view.columns))

    def mapping(self) -> dict[str, object]:
        return {t: dict.fromkeys(cols, "TEXT") for t, cols in sorted(self.columns.items())}

    def leading(self, table: str, column: str) -> str | None:
        """The name of an index (or key) whose first column is `column`, if any."""
        t = self.schema.table(table)
        if t is None:
            return None
        keys = [
            (i.name, i.keys[0].column) for i in t.indexes if i.keys and not i.keys[0].expression
        ]
        keys += [(u.name, u.columns[0]) for u in t.uniques if u.columns]
        if t.primary_key and t.primary_key.columns:
            keys.append((t.primary_key.name or "primary key", t.primary_key.columns[0]))
        return next((name for name, col in sorted(keys) if col == column), None)


def expand_views(tree: exp.Expr, catalog: Catalog, dialect: str) -> None:
    """Replace each view by its body as a derived table, so columns resolve to base tables."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for _ in range(8):  # views on views, to a sane depth
        hits = [
            t for t in tree.find_all(exp.Table) if t.name in catalog.views and t.name not in ctes
        ]
        if not hits:
            return
        for table in hits:
            body, columns = catalog.views[table.name]
            try:
                parsed = sqlglot.parse_one(body, read=dialect)
            except SqlglotError:
                catalog.views.pop(table.name)  # unparsable: the view stays a table
                continue
            fold(parsed)
            for node in parsed.walk():  # positions in the view's text, not in the query's
                node.meta.pop("start", None)
                node.meta.pop("end", None)
            alias = exp.TableAlias(
                this=exp.to_identifier(table.alias_or_name),
                columns=[exp.to_identifier(c.lower()) for c in columns],
            )
            table.replace(exp.Subquery(this=parsed, alias=alias))


# --- names: unknown tables, unknown and ambiguous columns --------------------------------------


def check_names(query: exp.Expr, catalog: Catalog, text: SourceText) -> None:
    """Say exactly what is wrong before sqlglot's qualify (whose messages are vaguer)."""
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if isinstance(table.this, exp.Identifier) and table.name not in ctes | set(catalog.real):
            raise InputError(f"unknown table {written(table.this, text)}")
    for scope in traverse_scope(query):
        if not isinstance(scope.expression, exp.Select):
            continue
        using = {
            i.name
            for j in scope.expression.args.get("joins") or []
            for i in j.args.get("using") or []
        }
        natural = any(j.method == "NATURAL" for j in scope.expression.args.get("joins") or [])
        aliases = {p.alias for p in scope.expression.selects if p.alias}
        # A scope lists the unqualified columns of its subqueries too: check each where it is.
        for col in (c for c in scope.columns if c.find_ancestor(exp.Select) is scope.expression):
            shown = written(col.this, text)
            if col.table:
                found = _source(scope, col.table)
                if found is None:
                    raise InputError(f"unknown table or alias {written(col.args['table'], text)}")
                if _has(found, col.name, catalog) is False:
                    raise InputError(f"unknown column {written(col.args['table'], text)}.{shown}")
                continue
            owners = sorted(
                a for a, (_, src) in scope.selected_sources.items() if _has(src, col.name, catalog)
            )
            if len(owners) > 1 and col.name not in using and not natural:
                raise InputError(f"ambiguous column {shown} (in {', '.join(owners)})")
            if (
                owners
                or col.name in aliases
                or any(_has(s, col.name, catalog) for s in _outer(scope))
            ):
                continue
            if all(_has(s, col.name, catalog) is False for _, s in scope.selected_sources.values()):
                raise InputError(f"unknown column {shown}")


def written(node: exp.Expr, text: SourceText) -> str:
    """A name as the statement spells it (for messages), else as sqlglot holds it."""
    return text.span(node) or node.name


def _source(scope: Scope, alias: str) -> exp.Table | Scope | None:
    at: Scope | None = scope
    while at is not None:
        if alias in at.sources:
            found: exp.Table | Scope = at.sources[alias]
            return found
        at = at.parent
    return None


def _outer(scope: Scope) -> list[exp.Table | Scope]:
    out: list[exp.Table | Scope] = []
    at = scope.parent
    while at is not None:
        out += [src for _, src in at.selected_sources.values()]
        at = at.parent
    return out


def _has(source: object, name: str, catalog: Catalog) -> bool | None:
    """Whether a source has a column: True, False, or None when it cannot be told (a star,
    a table function)."""
    if isinstance(source, exp.Table):
        columns = catalog.columns.get(source.name)
        return None if columns is None else name in columns
    if not isinstance(source, Scope):
        return None
    alias = source.expression.parent.args.get("alias") if source.expression.parent else None
    if isinstance(alias, exp.TableAlias) and alias.columns:
        return name in {c.name for c in alias.columns}
    selects = getattr(_leaves(source)[0].expression, "selects", [])
    if any(p.is_star for p in selects):
        return None
    return name in {p.alias_or_name for p in selects}


def _leaves(scope: Scope) -> list[Scope]:
    if scope.set_operation_scopes:
        return [leaf for s in scope.set_operation_scopes for leaf in _leaves(s)]
    return [scope]


# --- resolution --------------------------------------------------------------------------------


def resolve(col: exp.Column, scope: Scope, catalog: Catalog) -> list[tuple[str, str]]:
    """The base-table columns (table, column) behind a qualified column: one, several through
    a UNION, none for an expression or a table function."""
    return _resolve_in(col, scope, catalog, set())


def _resolve_in(
    col: exp.Column, scope: Scope, catalog: Catalog, seen: set[tuple[int, str]]
) -> list[tuple[str, str]]:
    found = _source(scope, col.table) if col.table else None
    if isinstance(found, exp.Table):
        column = catalog.columns.get(found.name, {}).get(col.name)
        return [(catalog.real[found.name], column)] if column else []
    if not isinstance(found, Scope) or (id(found), col.name) in seen:
        return []  # recursive CTEs refer to themselves: stop at the second visit
    seen.add((id(found), col.name))
    leaves = _leaves(found)
    names = [p.alias_or_name for p in getattr(leaves[0].expression, "selects", [])]
    if col.name not in names:
        return []
    at = names.index(col.name)
    out: list[tuple[str, str]] = []
    for leaf in leaves:
        selects = getattr(leaf.expression, "selects", [])
        inner = selects[at].unalias() if at < len(selects) else None
        if isinstance(inner, exp.Column):
            out += _resolve_in(inner, leaf, catalog, seen)
    return out


def local_columns(node: exp.Expr) -> list[exp.Column]:
    """Columns of `node` that belong to its own scope (not to nested subqueries)."""
    prune = lambda n: isinstance(n, _NESTED) and n is not node  # noqa: E731
    return [c for c in node.walk(prune=prune) if isinstance(c, exp.Column)]
