"""Schema → MySQL/MariaDB DDL that recreates it in an empty database.

Order: database defaults, sequences, tables (indexes and CHECKs inline), foreign keys as
ALTER TABLE after every table (so cycles load), routines, views in dependency order, triggers.
Routine and trigger bodies contain semicolons, so they are wrapped in DELIMITER blocks for
the mysql/mariadb client, which is what loads SQL files (engines/mysql.py).
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable

from dbarchitect.dialects.mysql.quoting import quote_ident, quote_literal
from dbarchitect.dialects.mysql.routines import create_routine, follows
from dbarchitect.dialects.mysql.types import base_type
from dbarchitect.model import (
    Column,
    ForeignKey,
    Function,
    Index,
    IndexKey,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)

_KEYWORD_INDEX = {"fulltext": "FULLTEXT KEY", "spatial": "SPATIAL KEY"}
# Table options the renderer writes itself; the rest are CREATE_OPTIONS written back as-is.
_OWN_OPTIONS = frozenset({"engine", "collation", "charset", "system_versioning", "partition_by"})
_HASH_DEFAULT_ENGINES = frozenset({"MEMORY", "HEAP"})


def render(schema: Schema) -> str:
    """The whole schema as one script for the mysql/mariadb client."""
    parts: list[str] = []
    options = dict(schema.options)
    if "collation" in options:
        charset = options.get("charset")
        head = f"CHARACTER SET {charset} " if charset else ""
        parts.append(f"ALTER DATABASE {head}COLLATE {options['collation']};")
    parts.extend(create_sequence(s) for s in schema.sequences)
    parts.extend(create_table(t) for t in schema.tables)
    parts.extend(add_foreign_key(t, fk) for t in schema.tables for fk in t.foreign_keys)
    routines = routine_statements(schema.functions)
    if routines:
        parts.append("SET @dbarch_saved_sql_mode = @@SESSION.sql_mode;")
        parts.append(_delimited(routines))
        parts.append("SET SESSION sql_mode = @dbarch_saved_sql_mode;")
    parts.extend(create_view(v) for v in _views_in_order(schema.views))
    triggers = [trg.definition for trg in _triggers_in_order(schema.tables)]
    if triggers:
        parts.append(_delimited(triggers))
    return "\n\n".join(parts) + "\n" if parts else ""


def _delimited(statements: list[str]) -> str:
    """Statements separated by a DELIMITER that none of them contains."""
    text = "\n".join(statements)
    delimiter = next(d for d in ("$$", ";;", "//", "$$$$", "@@@@") if d not in text)
    body = "\n".join(f"{s}{delimiter}" for s in statements)
    return f"DELIMITER {delimiter}\n{body}\nDELIMITER ;"


def routine_statements(functions: Iterable[Function]) -> list[str]:
    """CREATE FUNCTION/PROCEDURE statements (no terminators), each preceded by SET sql_mode
    when it was created under another mode than the one before it."""
    out: list[str] = []
    current: str | None = None
    for fn in functions:
        sql_mode = dict(fn.config).get("sql_mode")
        # A routine runs with the sql_mode it was created under: recreate it under the same.
        if sql_mode is not None and sql_mode != current:
            out.append(f"SET SESSION sql_mode = {quote_literal(sql_mode)}")
            current = sql_mode
        out.append(create_routine(fn))
    return out


def create_sequence(seq: Sequence) -> str:
    """CREATE SEQUENCE with every parameter spelled out."""
    parts = [f"CREATE SEQUENCE {quote_ident(seq.name)} START WITH {seq.start}"]
    parts.append(f"MINVALUE {seq.min_value}" if seq.min_value is not None else "NO MINVALUE")
    parts.append(f"MAXVALUE {seq.max_value}" if seq.max_value is not None else "NO MAXVALUE")
    parts.append(f"INCREMENT BY {seq.increment} CACHE {seq.cache}")
    parts.append("CYCLE" if seq.cycle else "NOCYCLE")
    return " ".join(parts) + ";"


# What MariaDB prints as a column default and takes back bare: a number, a quoted string,
# NULL, or a function such as current_timestamp(). Anything else (1 + 1, concat(...) with
# arguments) is an expression default, which must be written in parentheses.
_BARE_DEFAULT = re.compile(
    r"^(-?[0-9.]+(e[-+]?[0-9]+)?|'([^']|'')*'|NULL|[A-Za-z_]+(\(\d*\))?)$", re.I
)


def _default(text: str) -> str:
    return text if _BARE_DEFAULT.match(text.strip()) else f"({text})"


def column_definition(col: Column) -> str:
    """One column as in CREATE TABLE: type, collation, generation, nullability, default…"""
    parts = [quote_ident(col.name), col.type]
    if col.collation:
        parts.append(f"COLLATE {col.collation}")
    if col.generated:
        parts.append(f"GENERATED ALWAYS AS ({col.generated})")
        parts.append("STORED" if col.generated_stored else "VIRTUAL")
    options = dict(col.options)
    if "invisible" in options:
        parts.append("INVISIBLE")
    if not col.nullable:
        parts.append("NOT NULL")
    elif base_type(col.type) == "timestamp":
        # Without explicit NULL, servers with explicit_defaults_for_timestamp=OFF make the
        # first TIMESTAMP column NOT NULL DEFAULT CURRENT_TIMESTAMP.
        parts.append("NULL")
    if col.default is not None:
        parts.append(f"DEFAULT {_default(col.default)}")
    if "on_update" in options:
        parts.append(f"ON UPDATE {options['on_update']}")
    if col.identity is not None:
        parts.append("AUTO_INCREMENT")
    if col.comment:
        parts.append(f"COMMENT {quote_literal(col.comment)}")
    return " ".join(parts)


def _key_part(key: IndexKey, method: str) -> str:
    text = f"({key.column})" if key.expression else quote_ident(key.column)
    if key.length is not None and method != "spatial":
        text += f"({key.length})"
    if key.descending:
        text += " DESC"
    return text


def _using(method: str, engine: str) -> str:
    default = "hash" if engine.upper() in _HASH_DEFAULT_ENGINES else "btree"
    return f" USING {method.upper()}" if method in ("btree", "hash") and method != default else ""


def index_definition(index: Index, engine: str) -> str:
    """An index as a CREATE TABLE element (UNIQUE/FULLTEXT/SPATIAL KEY name (parts))."""
    kind = "UNIQUE KEY" if index.unique else _KEYWORD_INDEX.get(index.method, "KEY")
    parts = ", ".join(_key_part(k, index.method) for k in index.keys)
    text = f"{kind} {quote_ident(index.name)} ({parts}){_using(index.method, engine)}"
    if index.comment:
        text += f" COMMENT {quote_literal(index.comment)}"
    if dict(index.options).get("ignored") == "true":
        text += " IGNORED"
    return text


def create_table(table: Table) -> str:
    """CREATE TABLE with columns, primary key, unique keys, indexes and CHECKs inline."""
    options = dict(table.options)
    engine = options.get("engine", "")
    items = [column_definition(c) for c in table.columns]
    if table.primary_key:
        cols = ", ".join(quote_ident(c) for c in table.primary_key.columns)
        items.append(f"PRIMARY KEY ({cols})")
    for u in table.uniques:
        cols = ", ".join(quote_ident(c) for c in u.columns)
        text = f"UNIQUE KEY {quote_ident(u.name)} ({cols}){_using('btree', engine)}"
        if u.comment:
            text += f" COMMENT {quote_literal(u.comment)}"
        items.append(text)
    items.extend(index_definition(i, engine) for i in table.indexes)
    items.extend(f"CONSTRAINT {quote_ident(c.name)} CHECK ({c.expression})" for c in table.checks)
    body = ",\n".join(f"  {item}" for item in items)
    tail = _table_options(table, options)
    return f"CREATE TABLE {quote_ident(table.name)} (\n{body}\n){tail};"


def _table_options(table: Table, options: dict[str, str]) -> str:
    out: list[str] = []
    if "engine" in options:
        out.append(f"ENGINE={options['engine']}")
    if "collation" in options:
        out.append(f"DEFAULT COLLATE={options['collation']}")
    if table.comment:
        out.append(f"COMMENT={quote_literal(table.comment)}")
    out.extend(f"{k.upper()}={v}" for k, v in table.options if k not in _OWN_OPTIONS)
    if options.get("system_versioning") == "true":
        out.append("WITH SYSTEM VERSIONING")
    text = (" " + " ".join(out)) if out else ""
    if "partition_by" in options:
        text += "\n" + options["partition_by"]
    return text


def add_foreign_key(table: Table, fk: ForeignKey) -> str:
    """ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY, with both actions spelled out."""
    cols = ", ".join(quote_ident(c) for c in fk.columns)
    refs = ", ".join(quote_ident(c) for c in fk.ref_columns)
    target = quote_ident(fk.ref_table)
    if fk.ref_schema:
        target = f"{quote_ident(fk.ref_schema)}.{target}"
    match = " MATCH FULL" if fk.match_full else ""
    return (
        f"ALTER TABLE {quote_ident(table.name)} ADD CONSTRAINT {quote_ident(fk.name)}"
        f" FOREIGN KEY ({cols}) REFERENCES {target} ({refs}){match}"
        f" ON DELETE {fk.on_delete} ON UPDATE {fk.on_update};"
    )


def create_view(view: View) -> str:
    """CREATE VIEW with its algorithm, SQL SECURITY and CHECK OPTION."""
    options = dict(view.options)
    head = "CREATE"
    if "algorithm" in options:
        head += f" ALGORITHM={options['algorithm']}"
    if "sql_security" in options:
        head += f" SQL SECURITY {options['sql_security']}"
    check = f" WITH {view.check_option} CHECK OPTION" if view.check_option else ""
    return f"{head} VIEW {quote_ident(view.name)} AS {view.definition}{check};"


def _views_in_order(views: Iterable[View]) -> list[View]:
    by_name = {v.qualified: v for v in views}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name in sorted(by_name):
        sorter.add(name, *sorted(d for d in by_name[name].depends_on if d in by_name))
    return [by_name[n] for n in sorter.static_order()]


def _triggers_in_order(tables: Iterable[Table]) -> list[Trigger]:
    ordered: list[Trigger] = []
    for table in tables:
        by_name = {t.name: t for t in table.triggers}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name, trg in sorted(by_name.items()):
            after = follows(trg)
            sorter.add(name, *([after] if after in by_name else []))
        ordered.extend(by_name[n] for n in sorter.static_order())
    return ordered
