"""The last phase of the build: drafts → the frozen Schema model, with every name chosen.

Names come from the spec's naming templates, shortened to the engine's identifier limit and
numbered when two would collide; names the spec writes itself (explicit index names) are
taken first. Expressions are translated here, when every column they may mention exists.
"""

from __future__ import annotations

from dataclasses import replace

from dbarchitect.design.build_designer import ExpressionError, Role, TableRef
from dbarchitect.design.build_draft import Context, Draft, IndexDraft, Place
from dbarchitect.design.build_keys import is_expression
from dbarchitect.design.build_partition import partitions
from dbarchitect.design.naming import Names, key_slug
from dbarchitect.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    IndexKey,
    Partitioning,
    Policy,
    PrimaryKey,
    Table,
    Trigger,
    UniqueConstraint,
)


def assemble(ctx: Context, drafts: dict[str, Draft]) -> tuple[list[Table], list[EnumType]]:
    """Every table (partitions included) and the enum types they use."""
    limit = ctx.designer.caps.max_identifier_bytes
    names = Names(limit)
    for d in drafts.values():
        for name in (d.name, *(c.name for c in d.columns)):
            if len(name.encode()) > limit:
                raise ctx.error(
                    d.place, f"{name} is longer than {ctx.designer.label}'s {limit} bytes"
                )
        names.reserve(d.name)
    enums: dict[str, EnumType] = {}
    for d in drafts.values():
        for en in d.enums:
            if en.name in {x.name for x in drafts.values()}:
                raise ctx.error(d.place, f"enum type {en.name} has the name of a table")
            enums.setdefault(en.name, en)
            names.reserve(en.name)
    children: dict[str, list[tuple[str, str]]] = {}
    for d in drafts.values():
        if d.partition is not None:
            column = d.column(d.partition.column)
            assert column is not None
            children[d.name] = partitions(ctx, d, column, limit)
            for name, _ in children[d.name]:
                if not names.reserve(name):
                    raise ctx.error(d.place, f"partition {name} has the name of another table")
        for ix in d.indexes:
            if ix.name is not None and not names.reserve(ix.name):
                raise ctx.error(ix.place, f"index name {ix.name} is already taken")
    tables: list[Table] = []
    for d in drafts.values():
        tables.extend(_tables(ctx, d, names, children.get(d.name, [])))
    return tables, list(enums.values())


def _tables(ctx: Context, d: Draft, names: Names, children: list[tuple[str, str]]) -> list[Table]:
    designer = ctx.designer
    naming = ctx.loaded.spec.conventions.naming
    columns = tuple(d.columns)
    by_name = {c.name: c for c in columns}
    pk = None
    if d.primary_key:
        proposed = names.take(naming.primary_key, d.name, d.primary_key)
        pk = PrimaryKey(name=designer.primary_key_name(proposed), columns=d.primary_key)
    uniques = tuple(
        UniqueConstraint(name=names.take(naming.unique, d.name, u.columns), columns=u.columns)
        for u in d.uniques
    )
    fks = tuple(
        ForeignKey(
            name=names.take(naming.foreign_key, d.name, fk.key),
            columns=fk.columns,
            ref_schema=ctx.schema,
            ref_table=fk.target,
            ref_columns=fk.ref_columns,
            on_delete=fk.on_delete,
            deferrable=fk.deferrable,
            initially_deferred=fk.deferrable,
            on_delete_columns=fk.on_delete_columns,
        )
        for fk in d.foreign_keys
    )
    checks = tuple(
        CheckConstraint(
            name=c.name if c.exact else names.take(naming.check, d.name, name=c.name),
            expression=c.text if c.printed else _expr(ctx, c.text, by_name, "check", c.place),
        )
        for c in d.checks
    )
    indexes = tuple(_index(ctx, d, ix, by_name, names) for ix in d.indexes)
    ref = TableRef(schema=ctx.schema, name=d.name, key=d.primary_key)
    triggers: tuple[Trigger, ...] = ()
    if d.updated_at is not None:
        trigger = names.take("{table}_set_{name}", d.name, name=d.updated_at)
        triggers = designer.updated_at_triggers(ref, d.updated_at, trigger)
    policies: tuple[Policy, ...] = ()
    if d.tenant_column is not None and designer.caps.row_security:
        policies = designer.tenant_policies(ref, by_name[d.tenant_column])
    depends = tuple(dep for c in columns if (dep := designer.type_dependency(c)) is not None)
    partitioning = None
    if d.partition is not None:
        key = designer.quote(d.partition.column)
        partitioning = Partitioning(strategy=d.partition.by.upper(), key=key)  # type: ignore[arg-type]
    parent = Table(
        schema=ctx.schema,
        name=d.name,
        columns=columns,
        primary_key=pk,
        foreign_keys=fks,
        uniques=uniques,
        checks=checks,
        indexes=indexes,
        triggers=triggers,
        policies=policies,
        rls_enabled=bool(policies),
        partitioning=partitioning,
        comment=d.comment,
        options=designer.table_options(),
        depends_on=depends,
    )
    if d.partition is None:
        return [parent]
    return [parent, *_partitions(ctx, parent, names, children)]


def _expr(ctx: Context, text: str, columns: dict[str, Column], role: Role, place: Place) -> str:
    try:
        return ctx.designer.expression(text, columns, role)
    except ExpressionError as exc:
        raise ctx.error(place, f"{text!r}: {exc}") from None


def _index(
    ctx: Context, d: Draft, ix: IndexDraft, columns: dict[str, Column], names: Names
) -> Index:
    keys = []
    for k in ix.keys:
        if is_expression(k):
            text = _expr(ctx, k[1:-1], columns, "index", ix.place)
            keys.append(IndexKey(column=text, expression=True))
        else:
            keys.append(IndexKey(column=k, length=ctx.designer.key_length(columns[k])))
    where = ix.where_printed
    if where is None and ix.where is not None:
        where = _expr(ctx, ix.where, columns, "where", ix.place)
    naming = ctx.loaded.spec.conventions.naming
    template = naming.unique if ix.unique else naming.index
    name = ix.name or names.take(template, d.name, tuple(key_slug(k) for k in ix.keys))
    return Index(
        name=name,
        keys=tuple(keys),
        unique=ix.unique,
        method=ix.method,
        include=ix.include,
        where=where,
        comment=ix.comment if ctx.designer.caps.comments else None,
    )


def _partitions(
    ctx: Context, parent: Table, names: Names, children: list[tuple[str, str]]
) -> list[Table]:
    """The partitions of `parent`: its columns, and keys and indexes attached to its own."""
    designer = ctx.designer
    naming = ctx.loaded.spec.conventions.naming
    parent_name = designer.qualified(ctx.schema, parent.name)
    columns = tuple(replace(c, identity=None, comment=None) for c in parent.columns)
    out = []
    for name, bound in children:
        pk = None
        if parent.primary_key is not None:
            pk = PrimaryKey(
                name=names.take(naming.primary_key, name, parent.primary_key.columns),
                columns=parent.primary_key.columns,
                inherited=True,
            )
        uniques = tuple(
            UniqueConstraint(
                name=names.take(naming.unique, name, u.columns),
                columns=u.columns,
                inherited=True,
            )
            for u in parent.uniques
        )
        indexes = tuple(
            replace(
                ix,
                name=names.take(naming.unique if ix.unique else naming.index, name, _slugs(ix)),
                comment=None,
                parent=designer.qualified(ctx.schema, ix.name),
            )
            for ix in parent.indexes
        )
        out.append(
            Table(
                schema=ctx.schema,
                name=name,
                columns=columns,
                primary_key=pk,
                uniques=uniques,
                indexes=indexes,
                partition_of=parent_name,
                partition_bound=bound,
                options=designer.table_options(),
                depends_on=parent.depends_on,
            )
        )
    return out


def _slugs(ix: Index) -> tuple[str, ...]:
    return tuple(key_slug(k.column) for k in ix.keys)


__all__ = ["assemble"]
