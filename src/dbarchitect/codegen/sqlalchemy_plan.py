"""Split a Schema into what SQLAlchemy models declare and the SQL that `create_all` cannot make.

The models declare tables (columns, keys, checks, indexes, comments), enums and sequences: that
part is the *core* schema. Everything else is SQL attached to `Base.metadata` events:

- before_create: namespaces, extensions, collations, text search configurations, domains,
  composite and range types, and the functions a table expression calls;
- after_create: partitions, inheritance children, views, the other functions, triggers,
  policies, exclusion constraints, NOT VALID constraints, grants, comments SQLAlchemy has no
  argument for, sequence ownership and column settings (statistics, storage);
- before_drop / after_drop: the same objects dropped again, so `drop_all` leaves nothing.

The SQL comes from the migration engine itself (`make_migration` between the core schema and
the whole one), so it is the dialect's own DDL in dependency order, not a second renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dbarchitect.dialects import get_dialect
from dbarchitect.model import (
    Column,
    ForeignKey,
    Function,
    Grant,
    Index,
    PrimaryKey,
    Schema,
    Table,
    UniqueConstraint,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPlan:
    """The core schema the models declare, and the SQL of each metadata event, in order."""

    core: Schema
    # before_create runs in two phases: the first before the models' own enum types are
    # created (namespaces they live in), the second after (types and functions using them).
    before_types: tuple[str, ...]
    before_tables: tuple[str, ...]
    after_create: tuple[str, ...]
    before_drop: tuple[str, ...]
    after_drop: tuple[str, ...]


def plan_models(schema: Schema) -> ModelPlan:
    """Decide what the models declare and which SQL runs around `create_all`/`drop_all`."""
    from dbarchitect.migrate.migration import make_migration

    dialect = get_dialect(schema.dialect)
    default = dialect.default_schema
    base = Schema(
        dialect=schema.dialect,
        namespaces=tuple(n for n in schema.namespaces if n.name == default),
        # What a new database grants on its default namespace (PostgreSQL 15 and later).
        grants=tuple(
            Grant(object_type="schema", object=default, grantee="PUBLIC", privilege="USAGE")
            for n in schema.namespaces
            if n.name == default
        ),
        options=schema.options,
    )
    early = set(_called_early(schema))
    pre_functions = tuple(f for f in schema.functions if f.name in early and f.kind != "aggregate")
    first = replace(
        base,
        namespaces=schema.namespaces,
        extensions=schema.extensions,
        collations=schema.collations,
    )
    second = replace(
        first,
        enums=tuple(replace(e, comment=None) for e in schema.enums),
        text_search_configs=schema.text_search_configs,
        domains=schema.domains,
        composite_types=schema.composite_types,
        ranges=schema.ranges,
        functions=pre_functions,
    )
    # A type SQLAlchemy creates starts with the default privileges: PUBLIC may use it.
    quote = dialect.quote
    enum_usage = tuple(
        Grant(
            object_type="type",
            object=f"{quote(e.schema)}.{quote(e.name)}",
            grantee="PUBLIC",
            privilege="USAGE",
        )
        for e in schema.enums
    )
    core = replace(
        second,
        grants=(*second.grants, *enum_usage),
        sequences=tuple(replace(s, owned_by=None, comment=None) for s in schema.sequences),
        tables=tuple(core_table(t) for t in schema.tables if declared(t)),
    )

    def sql(before: Schema, after: Schema) -> tuple[str, ...]:
        if before == after:
            return ()
        migration = make_migration(before, after, online=False)
        return tuple(s.sql.strip() for s in migration.up if not s.check)

    # The models create the enums themselves (sa.Enum): the SQL run before the tables leaves
    # them out, while the core schema (what exists once create_all has run) has them.
    second_without_enums = replace(second, enums=())
    return ModelPlan(
        core=core,
        before_types=sql(base, first),
        before_tables=sql(first, second_without_enums),
        after_create=sql(core, schema),
        before_drop=sql(schema, core),
        after_drop=sql(second_without_enums, base),
    )


def declared(table: Table) -> bool:
    """Whether the models declare `table` (partitions, inheritance children and SQLite
    virtual tables are SQL)."""
    virtual = any(k == "virtual" for k, _ in table.options)
    return table.partition_of is None and not table.inherits and not virtual


def core_table(table: Table) -> Table:
    """The part of a table SQLAlchemy's Table can express; the rest is left to the SQL after."""
    return replace(
        table,
        columns=tuple(_core_column(c) for c in table.columns),
        primary_key=_core_pk(table.primary_key),
        foreign_keys=tuple(replace(fk, comment=None) for fk in table.foreign_keys if _core_fk(fk)),
        uniques=tuple(_core_unique(u) for u in table.uniques),
        checks=tuple(
            replace(c, comment=None)
            for c in table.checks
            if not (c.not_valid or c.no_inherit or c.inherited)
        ),
        exclusions=(),
        indexes=tuple(_core_index(i) for i in table.indexes if i.parent is None),
        triggers=(),
        policies=(),
        rls_enabled=False,
        rls_forced=False,
        options=tuple((k, v) for k, v in table.options if k not in _OPTIONS_AFTER),
    )


def _core_column(col: Column) -> Column:
    # Column settings (SET STATISTICS, SET STORAGE, attribute options) have no SQLAlchemy form.
    # MySQL's column options (ON UPDATE, INVISIBLE) are part of its column definition.
    keep = tuple((k, v) for k, v in col.options if k in _COLUMN_OPTIONS_IN_DEFINITION)
    return replace(col, options=keep)


_COLUMN_OPTIONS_IN_DEFINITION = frozenset({"on_update"})
# Table options SQLAlchemy cannot declare: MariaDB's system versioning is an ALTER afterwards.
_OPTIONS_AFTER = frozenset({"system_versioning"})


def _core_pk(pk: PrimaryKey | None) -> PrimaryKey | None:
    # Storage parameters of the key's index have no PrimaryKeyConstraint argument.
    return None if pk is None else replace(pk, comment=None, index_options=())


def _core_fk(fk: ForeignKey) -> bool:
    return not (fk.not_valid or fk.on_delete_columns or fk.inherited)


def _core_unique(u: UniqueConstraint) -> UniqueConstraint:
    return replace(u, comment=None)


def _core_index(index: Index) -> Index:
    return replace(index, comment=None)


def _called_early(schema: Schema) -> list[str]:
    """Functions called by an expression the tables or types need at creation time (by name:
    an overload or a namesake in another schema comes along, which does no harm)."""
    texts: list[str] = []
    for t in schema.tables:
        for c in t.columns:
            texts += [c.default or "", c.generated or ""]
        texts += [c.expression for c in t.checks]
        for i in t.indexes:
            texts.append(i.where or "")
            texts += [k.column for k in i.keys if k.expression]
    for d in schema.domains:
        texts.append(d.default or "")
        texts += [c.expression for c in d.checks]
    blob = "\n".join(texts)
    early = {f.name for f in schema.functions if _calls(blob, f)}
    # …and the functions those call, since SQL function bodies are checked at creation.
    while True:
        bodies = "\n".join(f.body for f in schema.functions if f.name in early)
        more = {f.name for f in schema.functions if _calls(bodies, f)} - early
        if not more:
            return sorted(early)
        early |= more


def _calls(blob: str, fn: Function) -> bool:
    return re.search(rf"(?<![\w$]){re.escape(fn.name)}\s*\(", blob) is not None


__all__ = ["ModelPlan", "core_table", "declared", "plan_models"]
