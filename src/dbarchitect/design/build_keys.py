"""Phase five of the build: unique keys, checks and indexes, shaped by the conventions.

Tenancy puts the tenant column first in unique keys and B-tree indexes, and adds the
UNIQUE (tenant, id) that composite foreign keys reference. Soft delete makes unique keys hold
among live rows only, in the engine's way. What the engine cannot index is dropped with a
note. Last, every foreign key gets a supporting index unless a key or index already starts
with its columns.
"""

from __future__ import annotations

from dbarchitect.design.build_draft import (
    CheckDraft,
    Context,
    Draft,
    IndexDraft,
    Place,
    UniqueDraft,
)
from dbarchitect.design.spec import EntitySpec

# Methods whose indexes cannot take a leading tenant column (GIN, GiST and BRIN need an
# operator class for it, hash indexes have one column).
_TENANT_PREFIX_METHODS = frozenset({"btree"})


def is_expression(key: str) -> bool:
    """An index entry written in parentheses is an expression."""
    return key.startswith("(") and key.endswith(")")


def add_entity_keys(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Composite unique keys, table checks and explicit indexes of every entity."""
    for name, e in ctx.loaded.spec.entities.items():
        d = drafts[name]
        _entity_keys(ctx, d, name, e)


def _entity_keys(ctx: Context, d: Draft, name: str, e: EntitySpec) -> None:
    place: Place = ("entities", name)
    for j, cols in enumerate(e.unique):
        where = (*place, "unique", j)
        for col in cols:
            _known(ctx, d, col, where)
        d.uniques.append(UniqueDraft(columns=tuple(cols), place=where))
    for cname, text in e.checks.items():
        d.checks.append(CheckDraft(name=cname, text=text, place=(*place, "checks", cname)))
    for j, spec in enumerate(e.indexes):
        where = (*place, "indexes", j)
        for key in spec.columns:
            if not is_expression(key):
                _known(ctx, d, key, (*where, "columns"))
        for col in spec.include:
            _known(ctx, d, col, (*where, "include"))
        d.indexes.append(IndexDraft.of(spec, where))


def _known(ctx: Context, d: Draft, col: str, place: Place) -> None:
    if not d.has(col):
        known = ", ".join(c.name for c in d.columns)
        raise ctx.error(place, f"{d.name} has no column {col!r} (columns: {known})")


def apply_tenancy(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Tenant column first in unique keys and B-tree indexes; UNIQUE (tenant, key) where
    composite foreign keys point."""
    for d in drafts.values():
        tenant = d.tenant_column
        if tenant is None:
            continue
        for u in d.uniques:
            if tenant not in u.columns:
                u.columns = (tenant, *u.columns)
        for ix in d.indexes:
            if ix.method in _TENANT_PREFIX_METHODS and tenant not in ix.keys:
                ix.keys = (tenant, *ix.keys)
        if d.tenant_unique and not _partitioned(ctx, d):
            wanted = set((tenant, *d.key))
            if set(d.primary_key) != wanted:
                d.uniques.append(UniqueDraft(columns=(tenant, *d.key), place=d.place, soft=False))


def _partitioned(ctx: Context, d: Draft) -> bool:
    return d.partition is not None and ctx.designer.caps.partitions


def apply_soft_delete(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Unique keys of soft-deleting tables hold among rows whose deleted_at is NULL."""
    for d in drafts.values():
        if d.soft_delete is None:
            continue
        soft = ctx.designer.soft_unique(d.soft_delete, {c.name: c for c in d.columns})
        needed = any(u.soft for u in d.uniques) or any(ix.unique for ix in d.indexes)
        if soft.column is not None and needed:
            d.add(d.extra, soft.column, ctx, d.place)
        kept: list[UniqueDraft] = []
        for u in d.uniques:
            if not u.soft:
                kept.append(u)
            elif soft.where is not None:
                d.indexes.append(
                    IndexDraft(
                        keys=u.columns,
                        place=u.place,
                        unique=True,
                        where_printed=soft.where,
                    )
                )
            elif soft.column is not None:
                kept.append(UniqueDraft(columns=(*u.columns, soft.column.name), place=u.place))
        d.uniques = kept
        for ix in d.indexes:
            if not ix.unique or ix.where_printed is not None:
                continue
            if soft.where is not None:
                if ix.where:
                    ix.where = f"({ix.where}) AND {d.soft_delete} IS NULL"
                else:
                    ix.where_printed = soft.where
            elif soft.column is not None:
                ix.keys = (*ix.keys, soft.column.name)


def fit_indexes(ctx: Context, drafts: dict[str, Draft]) -> None:
    """Drop what the engine cannot index (methods, predicates, INCLUDE, expressions), with
    a note each. A unique key the engine could only index by a prefix is dropped too."""
    caps = ctx.designer.caps
    for d in drafts.values():
        kept: list[IndexDraft] = []
        for ix in d.indexes:
            what = f"index on {d.name}({', '.join(ix.keys)})"
            if ix.method not in caps.index_methods:
                if ix.method == "hash" and "btree" in caps.index_methods:
                    ctx.note(f"{what} is a B-tree: no {ix.method} indexes")
                    ix.method = "btree"
                else:
                    ctx.note(f"{what} left out: no {ix.method.upper()} indexes")
                    continue
            if any(is_expression(k) for k in ix.keys) and not caps.expression_indexes:
                ctx.note(f"{what} left out: no indexes on expressions")
                continue
            if (ix.where or ix.where_printed) and not caps.partial_indexes:
                if ix.unique:
                    ctx.note(f"unique {what} left out: no partial indexes (WHERE {ix.where})")
                    continue
                ctx.note(f"{what} covers every row: no partial indexes (WHERE {ix.where})")
                ix.where = None
            if ix.include and not caps.include_columns:
                ctx.note(f"{what} has no INCLUDE ({', '.join(ix.include)})")
                ix.include = ()
            if ix.unique and any(_prefix_only(ctx, d, k) for k in ix.keys):
                ctx.note(f"unique {what} left out: a long text key is indexed by a prefix only")
                continue
            kept.append(ix)
        d.indexes = kept
        _fit_uniques(ctx, d)


def _fit_uniques(ctx: Context, d: Draft) -> None:
    kept = []
    for u in d.uniques:
        if any(_prefix_only(ctx, d, c) for c in u.columns):
            ctx.note(
                f"unique key {d.name}({', '.join(u.columns)}) left out: a long text key is "
                "indexed by a prefix only"
            )
            continue
        kept.append(u)
    d.uniques = kept


def _prefix_only(ctx: Context, d: Draft, key: str) -> bool:
    col = None if is_expression(key) else d.column(key)
    return col is not None and ctx.designer.key_length(col) is not None


def add_supporting_indexes(ctx: Context, drafts: dict[str, Draft]) -> None:
    """An index for each foreign key no key or full B-tree index starts with."""
    for d in drafts.values():
        starts = [d.primary_key, *(u.columns for u in d.uniques)]
        starts += [
            ix.keys
            for ix in d.indexes
            if ix.method == "btree" and not ix.where and not ix.where_printed
        ]
        # Longest keys first: the index of (tenant, x) also serves the key (tenant).
        for fk in sorted(d.foreign_keys, key=lambda fk: -len(fk.columns)):
            n = len(fk.columns)
            if any(tuple(s[:n]) == fk.columns for s in starts):
                continue
            d.indexes.append(IndexDraft(keys=fk.columns, place=fk.place))
            starts.append(fk.columns)


def dedupe(d: Draft) -> None:
    """The same key asked for twice (a field flag and an explicit entry, a unique key equal
    to the primary key) is built once."""
    seen: set[tuple[object, ...]] = set()
    indexes = []
    for ix in d.indexes:
        key = (ix.keys, ix.unique, ix.method, ix.where, ix.where_printed, ix.include)
        if key in seen and ix.name is None:
            continue
        seen.add(key)
        indexes.append(ix)
    d.indexes = indexes
    columns: set[tuple[str, ...]] = {d.primary_key}
    uniques = []
    for u in d.uniques:
        if u.columns not in columns:
            columns.add(u.columns)
            uniques.append(u)
    d.uniques = uniques


__all__ = [
    "add_entity_keys",
    "add_supporting_indexes",
    "apply_soft_delete",
    "apply_tenancy",
    "dedupe",
    "fit_indexes",
    "is_expression",
]
