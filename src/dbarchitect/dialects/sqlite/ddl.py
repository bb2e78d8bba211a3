"""Schema → SQLite DDL that recreates it in an empty database.

SQLite cannot add constraints to an existing table, so every constraint is written inside its
CREATE TABLE. Expressions, view bodies and trigger definitions are written back exactly as
SQLite stored them, so loading the output and reading it again gives an equal Schema.
Order: tables, indexes, views (a view after the views it reads), triggers.
"""

from __future__ import annotations

import graphlib
import re

from dbarchitect.model import Column, ForeignKey, Index, IndexKey, Schema, Table, View

# SQLite's keywords (https://sqlite.org/lang_keywords.html). Many may be used bare as names,
# but which ones depends on context; quoting them all is always safe.
_KEYWORD_TEXT = """
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN
BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS
CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED
DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS
EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING
IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL
JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF
OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE
RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK
ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED
UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A DEFAULT that is one token may stand bare; anything else needs parentheses. SQLite stores
# "DEFAULT (1 + 2)" as "1 + 2", so the parentheses must be put back.
_BARE_DEFAULT = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"""
    r"""|[+-]?0[xX][0-9a-fA-F]+|[xX]'[0-9a-fA-F]*'|[A-Za-z_][A-Za-z0-9_]*"""
)


def quote(ident: str) -> str:
    """The identifier bare when it is lower-case ASCII and no keyword, else double-quoted."""
    if _PLAIN.fullmatch(ident) and ident.upper() not in KEYWORDS:
        return ident
    return '"' + ident.replace('"', '""') + '"'


def _collation(name: str) -> str:
    # Collation names are case-insensitive words (NOCASE, RTRIM): keep them bare when we can.
    return name if _WORD.fullmatch(name) and name.upper() not in KEYWORDS else quote(name)


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(quote(n) for n in names)


def _constraint(name: str) -> str:
    return f"CONSTRAINT {quote(name)} " if name else ""


def render(schema: Schema) -> str:
    """DDL for every table, index, view and trigger of `schema`, in a loadable order."""
    parts: list[str] = [create_table(t) for t in schema.tables]
    for table in schema.tables:
        parts.extend(create_index(table, i) for i in table.indexes)
    parts.extend(create_view(v) for v in view_order(schema.views))
    for table in schema.tables:
        parts.extend(f"{t.definition};" for t in table.triggers)
    for view in schema.views:
        parts.extend(f"{t.definition};" for t in view.triggers)
    return "\n\n".join(parts) + "\n" if parts else ""


def create_table(table: Table) -> str:
    """CREATE TABLE (or CREATE VIRTUAL TABLE) with its columns and all its constraints."""
    options = dict(table.options)
    if "virtual" in options:
        args = options.get("virtual_args")
        using = options["virtual"] + (f"({args})" if args is not None else "")
        return f"CREATE VIRTUAL TABLE {quote(table.name)} USING {using};"
    pk = table.primary_key
    autoincrement = options.get("autoincrement") == "true" and pk is not None
    lines = []
    for col in table.columns:
        inline_pk = autoincrement and pk is not None and pk.columns == (col.name,)
        lines.append(column_definition(col, inline_pk, pk.name if pk else ""))
    if pk is not None and not autoincrement:
        lines.append(f"{_constraint(pk.name)}PRIMARY KEY ({_names(pk.columns)})")
    for u in table.uniques:
        lines.append(f"{_constraint(u.name)}UNIQUE ({_names(u.columns)})")
    for c in table.checks:
        lines.append(f"{_constraint(c.name)}CHECK ({c.expression})")
    lines.extend(_foreign_key(fk) for fk in table.foreign_keys)
    suffix = []
    if options.get("without_rowid") == "true":
        suffix.append("WITHOUT ROWID")
    if options.get("strict") == "true":
        suffix.append("STRICT")
    body = ",\n".join(f"  {line}" for line in lines)
    tail = f" {', '.join(suffix)}" if suffix else ""
    return f"CREATE TABLE {quote(table.name)} (\n{body}\n){tail};"


def column_definition(col: Column, inline_pk: bool = False, pk_name: str = "") -> str:
    """One column as in CREATE TABLE (and ALTER TABLE … ADD COLUMN)."""
    out = quote(col.name)
    if col.type:
        out += f" {col.type}"
    if inline_pk:
        # AUTOINCREMENT exists only on a column's own INTEGER PRIMARY KEY.
        out += f" {_constraint(pk_name)}PRIMARY KEY AUTOINCREMENT"
    if not col.nullable:
        out += " NOT NULL"
    if col.default is not None:
        bare = _BARE_DEFAULT.fullmatch(col.default)
        out += f" DEFAULT {col.default}" if bare else f" DEFAULT ({col.default})"
    if col.collation:
        out += f" COLLATE {_collation(col.collation)}"
    if col.generated is not None:
        kind = "STORED" if col.generated_stored else "VIRTUAL"
        out += f" GENERATED ALWAYS AS ({col.generated}) {kind}"
    return out


def _foreign_key(fk: ForeignKey) -> str:
    out = f"{_constraint(fk.name)}FOREIGN KEY ({_names(fk.columns)})"
    out += f" REFERENCES {quote(fk.ref_table)}"
    if fk.ref_columns:
        out += f" ({_names(fk.ref_columns)})"
    if fk.on_delete != "NO ACTION":
        out += f" ON DELETE {fk.on_delete}"
    if fk.on_update != "NO ACTION":
        out += f" ON UPDATE {fk.on_update}"
    if fk.deferrable:
        out += " DEFERRABLE INITIALLY DEFERRED" if fk.initially_deferred else " DEFERRABLE"
    return out


def create_index(table: Table, index: Index) -> str:
    """CREATE [UNIQUE] INDEX with column and expression keys and a partial WHERE."""
    unique = "UNIQUE " if index.unique else ""
    keys = ", ".join(_key(k) for k in index.keys)
    where = f" WHERE {index.where}" if index.where else ""
    return f"CREATE {unique}INDEX {quote(index.name)} ON {quote(table.name)} ({keys}){where};"


def _key(key: IndexKey) -> str:
    out = key.column if key.expression else quote(key.column)
    if key.collation:
        out += f" COLLATE {_collation(key.collation)}"
    if key.descending:
        out += " DESC"
    return out


def create_view(view: View) -> str:
    """CREATE VIEW with its stored SELECT (and its column list when it was declared with one)."""
    columns = dict(view.options).get("column_list")
    listed = f" ({columns})" if columns is not None else ""
    return f"CREATE VIEW {quote(view.name)}{listed} AS {view.definition};"


def view_order(views: tuple[View, ...]) -> list[View]:
    """Views after the views they read; a cycle (impossible in a valid schema) keeps name order."""
    by_name = {v.qualified: v for v in views}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for v in views:
        sorter.add(v.qualified, *(d for d in v.depends_on if d in by_name))
    try:
        return [by_name[name] for name in sorter.static_order()]
    except graphlib.CycleError:
        return list(views)
