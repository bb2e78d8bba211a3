"""Diesel 2.x code from a Schema: `schema.rs` as `diesel print-schema` writes it, and models.

`render_schema_rs` emits the `sql_types` module (PostgreSQL enums and types Diesel lacks, MySQL
ENUM/SET columns), one `diesel::table!` per table with a primary key, `diesel::joinable!` for
each foreign key Diesel can join on, and `diesel::allow_tables_to_appear_in_same_query!`.
`render_models_rs` emits Queryable/Selectable/Identifiable structs (with Associations where a
joinable exists), Insertable `New…` structs, and Rust enums for database enums.

What Diesel cannot express is left out with a `// dbarch:` comment saying why, as print-schema
does for tables without a primary key: views, partitions, tables in a schema whose name is not
a Rust identifier, composite or ambiguous joins (decided in diesel_plan.py). The text is laid
out the way rustfmt lays it out, so the files pass `rustfmt --check` as print-schema's do.
"""

from __future__ import annotations

import re

from dbarchitect.codegen.diesel_plan import ColumnPlan, Plan, TablePlan, plan, unique_name
from dbarchitect.codegen.diesel_types import IMPORTS, Backend, CustomType, camel, rust_string
from dbarchitect.model import Schema, Table

HEADER = "// @generated automatically by dbarch"
_DEFAULT_COLUMN_LIMIT = 32
# rustfmt's max_width and short_array_element_width_threshold defaults.
_WIDTH = 100
_SHORT_ITEM = 10


# --- schema.rs -----------------------------------------------------------------------------


def _doc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    return [
        f"{indent}///{' ' + line.strip() if line.strip() else ''}" for line in text.splitlines()
    ]


def _sql_type(cp: ColumnPlan) -> str:
    return f"Nullable<{cp.mapped.sql}>" if cp.nullable else cp.mapped.sql


def _meta(indent: str, name: str, args: list[str]) -> list[str]:
    """`#[diesel(name(args))]` as rustfmt writes it: one line within 100 columns, else one
    argument a line (rustfmt reformats such attributes because they parse as meta lists)."""
    one = f"{indent}#[diesel({name}({', '.join(args)}))]"
    if len(one) <= _WIDTH:
        return [one]
    inner = [f"{indent}    {arg}," for arg in args]
    inner[-1] = inner[-1].rstrip(",")
    return [f"{indent}#[diesel({name}(", *inner, f"{indent}))]"]


def _field(name: str, rust_type: str) -> list[str]:
    """A struct field; rustfmt moves a type that does not fit onto its own line."""
    one = f"    pub {name}: {rust_type},"
    if len(one) <= _WIDTH:
        return [one]
    return [f"    pub {name}:", f"        {rust_type},"]


def _sql_types_module(result: Plan) -> list[str]:
    if not result.customs:
        return []
    lines = ["pub mod sql_types {"]
    for i, custom in enumerate(sorted(result.customs.values(), key=lambda c: c.rust)):
        if i:
            lines.append("")
        lines.append(
            "    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]"
        )
        if custom.mysql_kind:
            lines += _meta("    ", "mysql_type", [f"name = {rust_string(custom.mysql_kind)}"])
        else:
            args = [f"name = {rust_string(custom.pg_name)}"]
            if custom.pg_schema:
                args.append(f"schema = {rust_string(custom.pg_schema)}")
            lines += _meta("    ", "postgres_type", args)
        lines.append(f"    pub struct {custom.rust};")
    return [*lines, "}", ""]


def _table_block(tp: TablePlan) -> list[str]:
    lines = ["diesel::table! {"]
    customs = sorted({c.mapped.custom.rust for c in tp.columns if c.mapped.custom is not None})
    if customs:
        lines.append("    use diesel::sql_types::*;")
        lines += [f"    use super::sql_types::{name};" for name in customs]
        lines.append("")
    if len(tp.columns) > _DEFAULT_COLUMN_LIMIT:
        feature = "64-column-tables" if len(tp.columns) <= 64 else "128-column-tables"
        lines.append(
            f'    // dbarch: {len(tp.columns)} columns: enable Diesel\'s "{feature}" feature'
        )
    lines += _doc(tp.table.comment, "    ")
    if tp.rust != tp.table.name:
        lines.append(f"    #[sql_name = {rust_string(tp.table.name)}]")
    prefix = f"{tp.schema_ident}." if tp.schema_ident else ""
    lines.append(f"    {prefix}{tp.rust} ({', '.join(tp.primary_key)}) {{")
    for cp in tp.columns:
        if cp.mapped.note:
            lines.append(f"        // dbarch: {cp.mapped.note}")
        lines += _doc(cp.column.comment, "        ")
        if cp.rust != cp.column.name:
            lines.append(f"        #[sql_name = {rust_string(cp.column.name)}]")
        if cp.mapped.max_length is not None:
            lines.append(f"        #[max_length = {cp.mapped.max_length}]")
        lines.append(f"        {cp.rust} -> {_sql_type(cp)},")
    return [*lines, "    }", "}", ""]


def _allow_tables(names: list[str]) -> list[str]:
    """The macro call laid out as rustfmt lays out a call's arguments, so that the file passes
    `rustfmt --check` as print-schema's (formatted) output does: one line when it fits in 100
    columns, else short names (≤ 10 characters) packed in lines, else one name a line."""
    head = "diesel::allow_tables_to_appear_in_same_query!("
    one = head + ", ".join(names) + ");"
    if len(one) <= _WIDTH:
        return [one]
    if all(len(n) <= _SHORT_ITEM for n in names):
        lines, current = [head], "   "
        for name in names:
            piece = f" {name},"
            if len(current) + len(piece) > _WIDTH - 1:
                lines.append(current)
                current = "   "
            current += piece
        return [*lines, current, ");"]
    return [head, *[f"    {n}," for n in names], ");"]


def render_schema_rs(schema: Schema) -> str:
    """`schema.rs` for Diesel 2.x, as `diesel print-schema` would write it for `schema`."""
    result = plan(schema)
    lines = [HEADER, ""]
    lines += [f"// dbarch: left out {note}" for note in result.skipped]
    if result.skipped:
        lines.append("")
    lines += _sql_types_module(result)
    for tp in sorted(result.tables, key=lambda t: t.rust):
        lines += _table_block(tp)
    joins = sorted(result.joins, key=lambda j: (j.child.rust, j.parent.rust))
    lines += [f"diesel::joinable!({j.child.rust} -> {j.parent.rust} ({j.column}));" for j in joins]
    lines += [f"// dbarch: {note}" for note in sorted(result.join_notes)]
    if joins or result.join_notes:
        lines.append("")
    if len(result.tables) >= 2:
        lines += _allow_tables(sorted(tp.rust for tp in result.tables))
    return "\n".join(lines).rstrip() + "\n"


# --- models.rs -----------------------------------------------------------------------------


def _rust_type(cp: ColumnPlan, *, borrowed: bool = False) -> str:
    base = (cp.mapped.borrowed if borrowed else None) or cp.mapped.rust or "()"
    return f"Option<{base}>" if cp.nullable else base


def _cargo_lines(result: Plan) -> list[str]:
    features = {result.backend.feature}
    crates: set[str] = set()
    crate_of = {
        "chrono": "chrono",
        "uuid": "uuid",
        "serde_json": "serde_json",
        "numeric": "bigdecimal",
        "network-address": "ipnetwork",
    }
    for tp in result.tables:
        for cp in tp.columns:
            features.update(cp.mapped.features)
            crates.update(crate_of[f] for f in cp.mapped.features)
    if any(c.is_enum for c in result.customs.values()):
        crates.add(f'diesel-derive-enum (features = ["{result.backend.feature}"])')
    listed = ", ".join(f'"{f}"' for f in sorted(features))
    # Multiranges came in Diesel 2.3; everything else used here is in 2.2 (Citext included).
    multirange = any("multirange" in cp.mapped.sql for tp in result.tables for cp in tp.columns)
    version = "2.3" if multirange else "2.2"
    lines = [f"// Cargo.toml: diesel {version} or later with features [{listed}]"]
    if crates:
        lines.append(f"// and the crates {', '.join(sorted(crates))}.")
    return lines


def _enum_block(custom: CustomType, backend: Backend) -> list[str]:
    where = (
        f"{custom.pg_schema}.{custom.pg_name}"
        if custom.pg_schema
        else custom.pg_name or custom.rust
    )
    lines = [
        f"/// The database enum `{where}`.",
        "///",
        f'/// DbEnum comes from the diesel-derive-enum crate (2.x, feature "{backend.feature}");',
        "/// Diesel itself has no derive for enums.",
        "#[derive(diesel_derive_enum::DbEnum, Debug, Clone, Copy, PartialEq, Eq)]",
        f'#[ExistingTypePath = "crate::schema::sql_types::{custom.rust}"]',
        f"pub enum {custom.rust} {{",
    ]
    taken: set[str] = set()
    for value in custom.values:
        variant = unique_name(camel(value) if value.strip() else "Empty", taken)
        lines.append(f"    #[db_rename = {rust_string(value)}]")
        lines.append(f"    {variant},")
    return [*lines, "}", ""]


def _struct_block(tp: TablePlan, result: Plan) -> list[str]:
    kept = [cp for cp in tp.columns if cp.mapped.rust is not None and not _empty_enum(cp)]
    left_out = [cp for cp in tp.columns if cp not in kept]
    kept_names = {cp.rust for cp in kept}
    identifiable = all(pk in kept_names for pk in tp.primary_key)
    parents = [j for j in result.joins if j.child is tp and identifiable and j.column in kept_names]
    parents = [
        j
        for j in parents
        if all(
            pk in {c.rust for c in j.parent.columns if c.mapped.rust} for pk in j.parent.primary_key
        )
    ]
    derives = ["Queryable", "Selectable"]
    if identifiable:
        derives.append("Identifiable")
    if parents:
        derives.append("Associations")
    lines = _doc(tp.table.comment, "")
    lines.append(f"#[derive({', '.join([*derives, 'Debug', 'Clone'])})]")
    lines.append(f"#[diesel(table_name = crate::schema::{tp.rust})]")
    if identifiable and tp.primary_key != ["id"]:
        lines += _meta("", "primary_key", tp.primary_key)
    for j in sorted(parents, key=lambda j: j.column):
        lines.append(f"#[diesel(belongs_to({j.parent.struct}, foreign_key = {j.column}))]")
    lines.append(f"#[diesel(check_for_backend({result.backend.path}))]")
    if not identifiable:
        lines.insert(
            len(_doc(tp.table.comment, "")),
            "// dbarch: not Identifiable: a primary key column has no Rust type here",
        )
    lines.append(f"pub struct {tp.struct} {{")
    for cp in tp.columns:
        if cp in left_out:
            why = cp.mapped.note or "no Rust type"
            lines.append(
                f"    // dbarch: column {cp.column.name} ({cp.column.type}) left out: {why}"
            )
            continue
        if cp.mapped.note:
            lines.append(f"    // dbarch: {cp.mapped.note}")
        lines += _doc(cp.column.comment, "    ")
        lines += _field(cp.rust, _rust_type(cp))
    return [*lines, "}", "", *_insertable_block(tp, kept)]


def _empty_enum(cp: ColumnPlan) -> bool:
    custom = cp.mapped.custom
    return custom is not None and custom.is_enum and not custom.values


def _insertable_block(tp: TablePlan, kept: list[ColumnPlan]) -> list[str]:
    fields = [cp for cp in kept if not cp.automatic]
    missing = [
        cp.column.name
        for cp in tp.columns
        if cp not in kept and not cp.nullable and not cp.automatic
    ]
    name = f"New{tp.struct}"
    head: list[str] = []
    if missing:
        filler = _insert_trigger(tp.table)
        if filler is None:
            listed = ", ".join(missing)
            return [f"// dbarch: no {name}: required column(s) {listed} have no Rust type here", ""]
        head.append(f"// dbarch: {', '.join(missing)} left out: trigger {filler} must fill it")
    if not fields:
        return [
            f"// dbarch: no {name}: the database fills every column; insert with .default_values()",
            "",
        ]
    lifetime = any(cp.mapped.borrowed for cp in fields)
    lines = [
        *head,
        f"/// A new row for `{tp.table.qualified}`; the database fills the columns left out.",
        "#[derive(Insertable)]",
        f"#[diesel(table_name = crate::schema::{tp.rust})]",
        f"pub struct {name}{'<' + chr(39) + 'a>' if lifetime else ''} {{",
    ]
    for cp in fields:
        lines += _field(cp.rust, _rust_type(cp, borrowed=True))
    return [*lines, "}", ""]


def _insert_trigger(table: Table) -> str | None:
    """A BEFORE INSERT row trigger, which may fill a NOT NULL column the model cannot set."""
    for trigger in table.triggers:
        if trigger.timing == "BEFORE" and trigger.for_each_row and "INSERT" in trigger.events:
            return trigger.name
    return None


def _use_lines(result: Plan) -> list[str]:
    """`use` lines for the short type names the fields use, in rustfmt's order."""
    words: set[str] = set()
    for tp in result.tables:
        for cp in tp.columns:
            words.update(re.findall(r"\w+", cp.mapped.rust or ""))
    by_path: dict[str, list[str]] = {"diesel::prelude": ["*"]}
    for name in sorted(words & set(IMPORTS)):
        by_path.setdefault(IMPORTS[name], []).append(name)
    lines = []
    for path in sorted(by_path):
        names = by_path[path]
        lines.append(
            f"use {path}::{names[0]};"
            if len(names) == 1
            else f"use {path}::{{{', '.join(names)}}};"
        )
    return lines


def render_models_rs(schema: Schema) -> str:
    """`models.rs` for Diesel 2.x: one Queryable struct and one Insertable struct per table of
    schema.rs, Rust enums for the database's enums, `use` lines on top."""
    result = plan(schema)
    lines = [HEADER, *_cargo_lines(result), "", *_use_lines(result), ""]
    used_enums = sorted(
        {
            cp.mapped.custom.rust: cp.mapped.custom
            for tp in result.tables
            for cp in tp.columns
            if cp.mapped.custom is not None and cp.mapped.custom.is_enum and cp.mapped.custom.values
        }.values(),
        key=lambda c: c.rust,
    )
    for custom in used_enums:
        lines += _enum_block(custom, result.backend)
    for tp in sorted(result.tables, key=lambda t: t.rust):
        lines += _struct_block(tp, result)
    return "\n".join(lines).rstrip() + "\n"


__all__ = ["plan", "render_models_rs", "render_schema_rs"]
