"""What Diesel gets from a Schema: table modules, column names and types, joins, model names,
and what is left out and why. schema.rs and models.rs are both rendered from one Plan, so the
two files agree on every name.

Table modules share one namespace; a table in a non-default schema keeps its plain name unless
another table already has it, then it is prefixed with its schema (`app_order`), and
`#[sql_name]` keeps the real name. Joins follow print-schema's rules for `joinable!`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dbarchitect.codegen.diesel_types import (
    IMPORTS,
    SHADOWED,
    Backend,
    CustomType,
    Mapped,
    PgTypes,
    backend_of,
    camel,
    mysql_type,
    rust_ident,
    singular,
    sqlite_type,
)
from dbarchitect.model import Column, ForeignKey, Schema, Table

# Names table! defines inside a table's module: a column may not take them.
_TABLE_ITEMS = frozenset({"table", "star", "all_columns", "columns", "dsl", "SqlType"})


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    column: Column
    rust: str
    mapped: Mapped
    nullable: bool
    automatic: bool  # filled by the database: identity, serial, default, generated


@dataclass(slots=True)
class TablePlan:
    table: Table
    rust: str
    schema_ident: str
    columns: list[ColumnPlan]
    primary_key: list[str]
    struct: str = ""


@dataclass(frozen=True, slots=True)
class Join:
    child: TablePlan
    parent: TablePlan
    column: str
    foreign_key: ForeignKey


@dataclass(slots=True)
class Plan:
    backend: Backend
    tables: list[TablePlan] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    joins: list[Join] = field(default_factory=list)
    join_notes: list[str] = field(default_factory=list)
    customs: dict[str, CustomType] = field(default_factory=dict)


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name2`, `name3`… whichever is not taken yet; the result is taken."""
    out, n = name, 2
    while out in taken:
        out = f"{name}{n}"
        n += 1
    taken.add(out)
    return out


def _automatic(table: Table, column: Column, backend: Backend) -> bool:
    if column.identity is not None or column.generated is not None or column.default is not None:
        return True
    pk = table.primary_key
    # SQLite's INTEGER PRIMARY KEY is the rowid: the database assigns it when left out.
    rowid = (
        backend.key == "sqlite"
        and pk is not None
        and pk.columns == (column.name,)
        and column.type.upper() == "INTEGER"
        and ("without_rowid", "true") not in table.options
    )
    return rowid


def _plan_columns(
    table: Table, module: str, backend: Backend, pg: PgTypes | None
) -> list[ColumnPlan]:
    taken: set[str] = set()
    out: list[ColumnPlan] = []
    for column in table.columns:
        rust = rust_ident(column.name)
        if rust in _TABLE_ITEMS or rust == module:
            rust += "_"
        rust = unique_name(rust, taken)
        if pg is not None:
            mapped = pg.map(column.type)
        elif backend.key == "mysql":
            mapped = mysql_type(column, module, rust)
        else:
            mapped = sqlite_type(column)
        automatic = _automatic(table, column, backend)
        pk = table.primary_key
        # A rowid alias can never hold NULL even when SQLite reports it nullable.
        nullable = column.nullable and not (
            automatic
            and pk is not None
            and pk.columns == (column.name,)
            and backend.key == "sqlite"
        )
        out.append(
            ColumnPlan(
                column=column, rust=rust, mapped=mapped, nullable=nullable, automatic=automatic
            )
        )
    return out


def plan(schema: Schema) -> Plan:
    """Decide what Diesel gets: table modules, column names and types, joins, and what is
    left out and why. Shared by schema.rs and models.rs so that both agree on every name."""
    backend = backend_of(schema)
    result = Plan(backend=backend)
    pg = PgTypes(schema, backend.default_schema) if backend.key == "pg" else None
    names = Counter(t.name for t in schema.tables)
    taken: set[str] = {"sql_types"}
    for table in schema.tables:
        if table.partition_of:
            result.skipped.append(
                f"{table.qualified}: a partition of {table.partition_of}; query the parent"
            )
            continue
        if table.primary_key is None:
            result.skipped.append(
                f"{table.qualified}: no primary key (Diesel only supports tables with one)"
            )
            continue
        schema_ident = ""
        if table.schema and table.schema != backend.default_schema:
            schema_ident = table.schema
            if rust_ident(table.schema) != table.schema:
                result.skipped.append(
                    f"{table.qualified}: table! needs the schema name to be a Rust identifier"
                )
                continue
        base = rust_ident(table.name)
        if schema_ident and names[table.name] > 1:
            base = rust_ident(f"{table.schema}_{table.name}")
        module = unique_name(base, taken)
        columns = _plan_columns(table, module, backend, pg)
        by_name = {c.column.name: c.rust for c in columns}
        primary_key = [by_name[c] for c in table.primary_key.columns if c in by_name]
        result.tables.append(
            TablePlan(
                table=table,
                rust=module,
                schema_ident=schema_ident,
                columns=columns,
                primary_key=primary_key,
            )
        )
    for view in schema.views:
        result.skipped.append(
            f"{view.qualified}: a view (print-schema leaves views out unless asked)"
        )
    for tp in result.tables:
        for cp in tp.columns:
            if cp.mapped.custom is not None:
                result.customs.setdefault(cp.mapped.custom.rust, cp.mapped.custom)
    _plan_joins(result)
    _name_structs(result)
    return result


def _plan_joins(result: Plan) -> None:
    by_name = {t.table.qualified: t for t in result.tables}
    pairs: Counter[frozenset[str]] = Counter()
    for tp in result.tables:
        for fk in tp.table.foreign_keys:
            parent = _ref(fk)
            if parent != tp.table.qualified and parent in by_name:
                pairs[frozenset((tp.table.qualified, parent))] += 1
    for tp in result.tables:
        for fk in tp.table.foreign_keys:
            parent_plan = by_name.get(_ref(fk))
            where = f"{tp.rust} -> {parent_plan.rust if parent_plan else _ref(fk)} ({fk.name})"
            reason = _join_refusal(tp, fk, parent_plan, pairs)
            if reason is not None or parent_plan is None:
                result.join_notes.append(f"no joinable! for {where}: {reason}")
                continue
            column = next(c for c in tp.columns if c.column.name == fk.columns[0])
            result.joins.append(
                Join(child=tp, parent=parent_plan, column=column.rust, foreign_key=fk)
            )


def _ref(fk: ForeignKey) -> str:
    return fk.ref_qualified


def _join_refusal(
    tp: TablePlan, fk: ForeignKey, parent: TablePlan | None, pairs: Counter[frozenset[str]]
) -> str | None:
    """Why Diesel's joinable! cannot express this foreign key (print-schema's rules)."""
    if parent is None:
        return "the referenced table is not in schema.rs"
    if parent is tp:
        return "self-referencing foreign key"
    if len(fk.columns) != 1:
        return f"composite foreign key ({', '.join(fk.columns)})"
    pk = parent.table.primary_key
    if pk is None or pk.columns != fk.ref_columns:
        return "it does not reference the primary key"
    if pairs[frozenset((tp.table.qualified, parent.table.qualified))] > 1:
        return "several foreign keys connect these tables; join with .on(…)"
    child_col = next(c for c in tp.columns if c.column.name == fk.columns[0])
    parent_col = next(c for c in parent.columns if c.column.name == pk.columns[0])
    if child_col.mapped.sql != parent_col.mapped.sql:
        return f"column types differ ({child_col.mapped.sql} vs {parent_col.mapped.sql})"
    return None


def _name_structs(result: Plan) -> None:
    taken: set[str] = {c.rust for c in result.customs.values() if c.is_enum} | SHADOWED
    taken |= set(IMPORTS)
    for tp in result.tables:
        base = camel(singular(tp.rust))
        while base in taken or f"New{base}" in taken:
            base += "Row"
        tp.struct = base
        taken.update((base, f"New{base}"))


__all__ = ["ColumnPlan", "Join", "Plan", "TablePlan", "plan", "unique_name"]
