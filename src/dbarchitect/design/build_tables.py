"""Phases one to four of the build: tables with their keys and fields, relationships (key
columns, foreign keys, join tables), audit columns, and timestamps / soft delete.

Column order follows the convention: key, tenant column, written fields, relationship keys,
audit columns, created_at, updated_at, deleted_at.
"""

from __future__ import annotations

from dataclasses import replace

from dbarchitect.design import naming
from dbarchitect.design.build_designer import ExpressionError
from dbarchitect.design.build_draft import (
    CheckDraft,
    Context,
    Draft,
    FkDraft,
    IndexDraft,
    Place,
    UniqueDraft,
)
from dbarchitect.design.spec import EntitySpec, FieldSpec, RelationshipSpec
from dbarchitect.model import Column
from dbarchitect.model.schema import Action

_ACTIONS: dict[str, Action] = {
    "cascade": "CASCADE",
    "restrict": "RESTRICT",
    "set null": "SET NULL",
    "set default": "SET DEFAULT",
    "no action": "NO ACTION",
}


def reference(target: Column, name: str, *, nullable: bool) -> Column:
    """A key column referencing `target`: its type and collation as the engine has them,
    without identity or default. The same on every engine, so not a designer hook."""
    return Column(
        name=name,
        type=target.type,
        logical=target.logical,
        nullable=nullable,
        collation=target.collation,
    )


def draft_entities(ctx: Context) -> dict[str, Draft]:
    """A draft per entity with its key, tenant column and written fields (tenant entity
    first: the others' tenant column takes its key's type)."""
    spec = ctx.loaded.spec
    tenancy = spec.conventions.tenancy
    names = list(spec.entities)
    if tenancy is not None:
        if tenancy.entity not in spec.entities:
            raise ctx.error(
                ("conventions", "tenancy", "entity"),
                f"tenancy entity {tenancy.entity!r} is not an entity",
            )
        names.remove(tenancy.entity)
        names.insert(0, tenancy.entity)
    drafts: dict[str, Draft] = {}
    for name in names:
        drafts[name] = _entity(ctx, name, spec.entities[name], drafts)
    return {name: drafts[name] for name in spec.entities}


def is_tenant(ctx: Context, name: str, entity: EntitySpec) -> bool:
    """Whether an entity's rows belong to a tenant."""
    tenancy = ctx.loaded.spec.conventions.tenancy
    if tenancy is None:
        if entity.tenant:
            raise ctx.error(("entities", name, "tenant"), "tenant: true needs conventions.tenancy")
        return False
    if name == tenancy.entity:
        if entity.tenant:
            raise ctx.error(
                ("entities", name, "tenant"), "the tenant entity cannot belong to a tenant"
            )
        return False
    return entity.tenant is not False


def _entity(ctx: Context, name: str, e: EntitySpec, drafts: dict[str, Draft]) -> Draft:
    place: Place = ("entities", name)
    spec = ctx.loaded.spec
    d = Draft(name=name, place=place, comment=e.comment if ctx.designer.caps.comments else None)
    strategy = e.id or spec.conventions.id
    if strategy != "natural":
        d.add(d.head, ctx.designer.id_column("id", strategy), ctx, place)
        d.primary_key = ("id",)
    if is_tenant(ctx, name, e):
        tenancy = spec.conventions.tenancy
        assert tenancy is not None
        add_tenant_column(ctx, d, drafts[tenancy.entity], ("conventions", "tenancy"))
    for fname, f in e.fields.items():
        add_field(ctx, d, d.fields, fname, f, (*place, "fields", fname))
    if strategy == "natural":
        if not e.primary_key:
            raise ctx.error(place, f"entity {name} has id: natural but no primary_key")
        for col in e.primary_key:
            if not d.has(col):
                raise ctx.error(
                    (*place, "primary_key"), f"primary key column {col} is not a field of {name}"
                )
        d.primary_key = e.primary_key
    elif e.primary_key:
        raise ctx.error((*place, "primary_key"), "primary_key is only for id: natural")
    for col in d.primary_key:
        c = d.column(col)
        if c is not None and c.nullable:
            d.replace(replace(c, nullable=False))
    d.partition = e.partition
    return d


def add_tenant_column(ctx: Context, d: Draft, tenant: Draft, place: Place) -> None:
    """The tenant column, NOT NULL, referencing the tenant entity's key."""
    tenancy = ctx.loaded.spec.conventions.tenancy
    assert tenancy is not None
    if len(tenant.key) != 1:
        raise ctx.error(place, f"the tenant entity {tenant.name} needs a single-column key")
    target = tenant.column(tenant.key[0])
    assert target is not None
    col = reference(target, tenancy.column, nullable=False)
    d.add(d.head, col, ctx, place)
    d.tenant_column = col.name
    d.foreign_keys.append(
        FkDraft(
            columns=(col.name,),
            target=tenant.name,
            ref_columns=tenant.key,
            key=(col.name,),
            on_delete="RESTRICT",
            place=place,
        )
    )


def add_field(
    ctx: Context, d: Draft, part: list[Column], fname: str, f: FieldSpec, place: Place
) -> None:
    """A written field: its column, and the checks, unique key and index it asks for."""
    enum = None
    if f.type == "enum":
        if f.enum is not None:
            values = ctx.loaded.spec.enums.get(f.enum)
            if values is None:
                raise ctx.error((*place, "enum"), f"unknown enum {f.enum!r}")
            enum = (f.enum, values)
        else:
            limit = ctx.designer.caps.max_identifier_bytes
            enum = (
                naming.constraint_name("{table}_{name}", d.name, name=fname, limit=limit),
                f.values,
            )
        if f.default is not None and str(f.default) not in enum[1]:
            raise ctx.error(
                (*place, "default"), f"default {f.default!r} is not one of {list(enum[1])}"
            )
    ct = ctx.designer.column_type(f, fname, enum, ctx.schema)
    col = Column(
        name=fname,
        type=ct.type,
        logical=ct.logical,
        nullable=f.nullable,
        collation=ct.collation,
        comment=f.comment if ctx.designer.caps.comments else None,
    )
    try:
        if f.default is not None:
            col = replace(col, default=ctx.designer.literal(f.default, col))
        elif f.default_sql is not None:
            text = ctx.designer.expression(f.default_sql, {fname: col}, "default")
            col = replace(col, default=text)
    except ExpressionError as exc:
        key = "default" if f.default is not None else "default_sql"
        raise ctx.error((*place, key), f"{d.name}.{fname}: {exc}") from None
    d.add(part, col, ctx, place)
    if ct.enum is not None and ct.enum not in d.enums:
        d.enums.append(ct.enum)
    for text in ct.checks:
        d.checks.append(CheckDraft(name=fname, text=text, place=place, printed=True))
    for name, text in ct.named_checks:
        d.checks.append(CheckDraft(name=name, text=text, place=place, printed=True, exact=True))
    if f.check:
        d.checks.append(CheckDraft(name=fname, text=f.check, place=(*place, "check")))
    if f.unique:
        d.uniques.append(UniqueDraft(columns=(fname,), place=(*place, "unique")))
    if f.index:
        d.indexes.append(IndexDraft(keys=(fname,), place=(*place, "index")))


def on_delete(ctx: Context, rel: RelationshipSpec, place: Place, nullable: bool) -> Action:
    """The relationship's ON DELETE: as written, else SET NULL when nullable, else RESTRICT."""
    action = rel.on_delete or ("set null" if nullable else "restrict")
    if action == "set null" and not nullable:
        raise ctx.error((*place, "on_delete"), "on_delete: set null needs nullable: true")
    return _ACTIONS[action]


def add_relationships(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Key columns and foreign keys of every relationship; join tables for many_to_many."""
    for i, rel in enumerate(ctx.loaded.spec.relationships):
        place: Place = ("relationships", i)
        for end in (rel.from_, rel.to):
            if end not in ctx.loaded.spec.entities:
                raise ctx.error(place, f"relationship to unknown entity {end!r}")
        if rel.type == "many_to_many":
            _join_table(ctx, drafts, rel, place)
            continue
        holder_name, target_name = naming.holder(rel)
        holder, target = drafts[holder_name], drafts[target_name]
        if not target.key:
            raise ctx.error(place, f"{target.name} has no key to reference")
        tenancy = ctx.loaded.spec.conventions.tenancy
        columns = naming.key_columns(rel, target.key)
        if (
            tenancy is not None
            and target_name == tenancy.entity
            and columns == (holder.tenant_column,)
        ):
            continue  # the tenant column already is this key
        for col, ref in zip(columns, target.key, strict=True):
            ref_col = target.column(ref)
            assert ref_col is not None
            key = reference(ref_col, col, nullable=rel.nullable)
            if rel.comment and ctx.designer.caps.comments:
                key = replace(key, comment=rel.comment)
            holder.add(holder.keys, key, ctx, place)
        action = on_delete(ctx, rel, place, rel.nullable)
        link(ctx, holder, target, columns, action, place, deferrable=rel.deferrable)
        if rel.type == "one_to_one":
            holder.uniques.append(UniqueDraft(columns=columns, place=place))


def link(
    ctx: Context,
    holder: Draft,
    target: Draft,
    columns: tuple[str, ...],
    action: Action,
    place: Place,
    *,
    deferrable: bool = False,
) -> None:
    """A foreign key from `holder.columns` to `target`'s key: composite with the tenant
    column when both tables belong to tenants, so a row cannot refer to another tenant's."""
    caps = ctx.designer.caps
    if target.partition is not None and caps.partitions:
        ctx.note(
            f"no foreign key {holder.name}({', '.join(columns)}) → {target.name}: a "
            "partitioned table's keys include its partition column"
        )
        return
    if deferrable and not caps.deferrable:
        ctx.note(f"foreign key {holder.name}({', '.join(columns)}) is not deferrable")
        deferrable = False
    tenant = holder.tenant_column
    fk = FkDraft(
        columns=columns,
        target=target.name,
        ref_columns=target.key,
        key=columns,
        on_delete=action,
        place=place,
        deferrable=deferrable,
    )
    if tenant is not None and target.tenant_column is not None and tenant not in columns:
        if action in ("SET NULL", "SET DEFAULT") and not caps.set_null_columns:
            ctx.note_item(
                f"ON DELETE {action} cannot reset only part of a composite key, so these "
                "foreign keys reference the key alone and are not checked against the tenant",
                f"{holder.name}({', '.join(columns)}) → {target.name}",
            )
        else:
            fk.columns = (tenant, *columns)
            fk.ref_columns = (target.tenant_column, *target.key)
            if action in ("SET NULL", "SET DEFAULT"):
                fk.on_delete_columns = columns
                ctx.note(
                    f"ON DELETE {action} (column) of composite tenant keys needs "
                    f"{ctx.designer.label} 15 or later"
                )
            target.tenant_unique = True
    holder.foreign_keys.append(fk)


def _join_table(
    ctx: Context, drafts: dict[str, Draft], rel: RelationshipSpec, place: Place
) -> None:
    spec = ctx.loaded.spec
    name = naming.join_table(rel)
    if name in drafts:
        raise ctx.error(place, f"join table {name} has the name of another table")
    a, b = drafts[rel.from_], drafts[rel.to]
    role_a, role_b = naming.join_columns(rel)
    j = Draft(
        name=name,
        place=place,
        comment=rel.comment if ctx.designer.caps.comments else None,
    )
    tenancy = spec.conventions.tenancy
    if tenancy is not None and (a.tenant_column or b.tenant_column):
        add_tenant_column(ctx, j, drafts[tenancy.entity], place)
    sides = []
    for side, role in ((a, role_a), (b, role_b)):
        if not side.key:
            raise ctx.error(place, f"{side.name} has no key to reference")
        cols = tuple(f"{role}_{k}" for k in side.key)
        for col, ref in zip(cols, side.key, strict=True):
            ref_col = side.column(ref)
            assert ref_col is not None
            j.add(j.keys, reference(ref_col, col, nullable=False), ctx, place)
        sides.append((side, cols))
    action = _ACTIONS[rel.on_delete or "cascade"]
    for side, cols in sides:
        link(ctx, j, side, cols, action, place, deferrable=rel.deferrable)
    lead = (j.tenant_column,) if j.tenant_column else ()
    j.primary_key = (*lead, *sides[0][1], *sides[1][1])
    j.indexes.append(IndexDraft(keys=(*lead, *sides[1][1]), place=place))
    for fname, f in rel.fields.items():
        add_field(ctx, j, j.fields, fname, f, (*place, "fields", fname))
    if spec.conventions.timestamps:
        created = ctx.designer.timestamp_column(
            "created_at", nullable=False, now=True, on_update=False
        )
        j.add(j.tail, created, ctx, place)
    drafts[name] = j


def add_audit(ctx: Context, drafts: dict[str, Draft]) -> None:
    """created_by / updated_by on every entity that has audit on."""
    spec = ctx.loaded.spec
    audit = spec.conventions.audit
    for name, e in spec.entities.items():
        place: Place = ("entities", name, "audit")
        on = e.audit if e.audit is not None else audit is not None
        if not on:
            continue
        if audit is None:
            raise ctx.error(place, "audit: true needs conventions.audit")
        if audit.entity not in drafts:
            raise ctx.error(("conventions", "audit", "entity"), f"unknown entity {audit.entity!r}")
        d, users = drafts[name], drafts[audit.entity]
        if len(users.key) != 1:
            raise ctx.error(
                ("conventions", "audit", "entity"),
                f"the audit entity {users.name} needs a single-column key",
            )
        ref = users.column(users.key[0])
        assert ref is not None
        for col in ("created_by", "updated_by"):
            d.add(d.audit, reference(ref, col, nullable=True), ctx, place)
            link(ctx, d, users, (col,), "SET NULL", place)


def add_conventions(ctx: Context, drafts: dict[str, Draft]) -> None:
    """created_at / updated_at (kept current) and deleted_at, per entity."""
    spec = ctx.loaded.spec
    designer = ctx.designer
    for name, e in spec.entities.items():
        d = drafts[name]
        place: Place = ("entities", name)
        stamps = e.timestamps if e.timestamps is not None else spec.conventions.timestamps
        if stamps:
            for col, on_update in (("created_at", False), ("updated_at", True)):
                c = designer.timestamp_column(col, nullable=False, now=True, on_update=on_update)
                d.add(d.tail, c, ctx, place)
            d.updated_at = "updated_at"
        soft = e.soft_delete if e.soft_delete is not None else spec.conventions.soft_delete
        if soft:
            c = designer.timestamp_column("deleted_at", nullable=True, now=False, on_update=False)
            d.add(d.tail, c, ctx, place)
            d.soft_delete = "deleted_at"


__all__ = [
    "add_audit",
    "add_conventions",
    "add_field",
    "add_relationships",
    "add_tenant_column",
    "draft_entities",
    "is_tenant",
    "link",
    "on_delete",
]
