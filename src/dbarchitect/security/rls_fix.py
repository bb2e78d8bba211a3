"""Repairs `dbarch secure rls` makes to a schema whose security is already there but broken.

A schema secured by hand may carry policies that leak (OR-ed holes, wildcard tenants, WITH
CHECK true), unique keys that reveal other tenants' values, SECURITY DEFINER functions and
materialized views that read every tenant's rows. These helpers change the target Schema so
the migration engine's diff both repairs them and, in the down, restores them exactly. What
cannot be made tenant-safe by a migration is locked away from the application and named in a
note.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.model import Schema, Table
from dbarchitect.model.schema import Function, Grant, Index, IndexKey, UniqueConstraint, View

# Pinned on SECURITY DEFINER functions that leave the search_path to the caller: the
# function's own schema after the catalog, and pg_temp last so nothing temporary shadows it.
_PINNED_TAIL = "pg_temp"


def replaced_policies(t: Table, notes: list[str]) -> None:
    """Note the existing policies our per-command policies replace (the diff drops them)."""
    if t.policies:
        names = ", ".join(p.name for p in t.policies)
        notes.append(f"{t.qualified}: existing policies replaced by ours ({names})")


def _ref(fk_schema: str | None, fk_table: str) -> str:
    return f"{fk_schema}.{fk_table}" if fk_schema else fk_table


def referenced_keys(schema: Schema) -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) pairs some foreign key points at: such keys cannot change columns
    without breaking the key that depends on them."""
    return {
        (_ref(fk.ref_schema, fk.ref_table), fk.ref_columns)
        for t in schema.tables
        for fk in t.foreign_keys
    }


def scope_uniques(
    t: Table, column: str, referenced: set[tuple[str, tuple[str, ...]]], notes: list[str]
) -> Table:
    """Unique constraints and unique indexes of a tenant table without the tenant column
    become (tenant, …): a duplicate error would otherwise tell tenant A that B has a value.
    Keys a foreign key points at are left alone (and noted)."""
    uniques: list[UniqueConstraint] = []
    for u in t.uniques:
        if column in u.columns:
            uniques.append(u)
        elif (t.qualified, u.columns) in referenced:
            uniques.append(u)
            notes.append(
                f"unique {t.qualified}.{u.name} ({', '.join(u.columns)}) lacks {column} but a "
                "foreign key points at it: left unique across tenants (its errors reveal other "
                "tenants' values)"
            )
        else:
            uniques.append(replace(u, columns=(column, *u.columns)))
            notes.append(
                f"unique {t.qualified}.{u.name} is now ({column}, {', '.join(u.columns)}): "
                "unique per tenant, no longer across tenants (a semantics change)"
            )
    indexes: list[Index] = []
    for i in t.indexes:
        cols = [k.column for k in i.keys]
        if not i.unique or column in cols or i.parent is not None:
            indexes.append(i)
            continue
        indexes.append(replace(i, keys=(IndexKey(column=column), *i.keys)))
        notes.append(
            f"unique index {t.qualified}.{i.name} now leads with {column}: unique per tenant, "
            "no longer across tenants (a semantics change)"
        )
    pk = t.primary_key
    if (
        pk is not None
        and column not in pk.columns
        and not all(_generated(t, c) for c in pk.columns)
    ):
        notes.append(
            f"primary key {t.qualified}.{pk.name} ({', '.join(pk.columns)}) lacks {column}: "
            "its duplicate errors reveal other tenants' keys; not changed (keys depend on it)"
        )
    return replace(t, uniques=tuple(uniques), indexes=tuple(indexes))


def _generated(t: Table, name: str) -> bool:
    col = t.column(name)
    return col is not None and (col.identity is not None or col.default is not None)


def reads(depends_on: tuple[str, ...], body: str, names: set[str]) -> bool:
    """Whether an object reads one of `names` (qualified): by its recorded dependencies, else
    (a function body the catalog does not track) by a mention of the bare name as a word."""
    if any(d.split(":", 1)[-1] in names for d in depends_on):
        return True
    text = body.lower()
    return any(re.search(rf"\b{re.escape(q.rsplit('.', 1)[-1].lower())}\b", text) for q in names)


def exposing_matviews(views: tuple[View, ...], secured: set[str]) -> list[View]:
    """Materialized views over secured tables: RLS never applies to their stored rows."""
    return [v for v in views if v.materialized and reads(v.depends_on, v.definition, secured)]


def exposing_definers(functions: tuple[Function, ...], secured: set[str]) -> list[Function]:
    """SECURITY DEFINER functions that read secured tables, directly or through functions they
    call: they run as their owner, so the caller's policies do not bind what they return."""
    readers: set[str] = set()
    grown = True
    while grown:  # functions calling functions that read: to a fixed point
        names = secured | readers
        found = {
            f"{f.schema}.{f.name}"
            for f in functions
            if f.kind != "aggregate"
            and (
                reads(f.depends_on, f.body or f.definition or "", names)
                or (f.returns or "").removeprefix("SETOF ") in secured
            )
        }
        grown = not found <= readers
        readers |= found
    return [f for f in functions if f.security_definer and f"{f.schema}.{f.name}" in readers]


def pin_search_path(functions: tuple[Function, ...], notes: list[str]) -> tuple[Function, ...]:
    """SECURITY DEFINER functions without their own search_path resolve names through the
    caller's, who can then put a function or table of theirs first: pin it."""
    out: list[Function] = []
    for f in functions:
        if f.security_definer and not any(k == "search_path" for k, _ in f.config):
            path = ", ".join(dict.fromkeys(["pg_catalog", f.schema or "public", _PINNED_TAIL]))
            out.append(replace(f, config=(*f.config, ("search_path", path))))
            notes.append(f"SECURITY DEFINER {f.signature}: search_path pinned to {path}")
        else:
            out.append(f)
    return tuple(out)


def function_object(f: Function) -> str:
    """How grants name a function: schema-qualified, quoted parts, identity arguments."""
    name = f"{quote(f.schema)}.{quote(f.name)}" if f.schema else quote(f.name)
    return f"{name}({f.identity})"


def lockdown(
    grants: list[Grant],
    objects: set[str],
    roles: set[str],
    notes: list[str],
    described: dict[str, str],
) -> list[Grant]:
    """Revoke every privilege PUBLIC and `roles` hold on `objects` (which cannot be made
    tenant-safe by a policy), and name each object and whoever else keeps access in a note."""
    kept = [g for g in grants if not (g.object in objects and g.grantee in {"PUBLIC", *roles})]
    for obj in sorted(objects):
        others = sorted({g.grantee for g in kept if g.object == obj})
        tail = f"; still granted to {', '.join(others)}: review them" if others else ""
        notes.append(
            f"{described[obj]} reads every tenant's rows and cannot be made tenant-safe by a "
            f"policy: access revoked from PUBLIC and the application roles{tail}"
        )
    return kept


def shared_sequences(schema: Schema, tenant_tables: set[str], notes: list[str]) -> None:
    """A sequence shared by all tenants: the values a tenant draws tell it how many rows the
    others insert. Changing that changes the keys, which no migration should do silently."""
    for s in schema.sequences:
        owner = (s.owned_by or "").rsplit(".", 1)[0]
        if owner in tenant_tables:
            notes.append(
                f"sequence {s.schema}.{s.name} is shared by every tenant of {owner}: the "
                "application keeps USAGE (nextval for the default), so the gaps between the ids "
                "it draws still show how many rows other tenants insert; SELECT on it is not "
                "granted. Fixing it needs other keys (uuid) or per-tenant numbering"
            )


__all__ = [
    "exposing_definers",
    "exposing_matviews",
    "function_object",
    "lockdown",
    "pin_search_path",
    "referenced_keys",
    "replaced_policies",
    "scope_uniques",
    "shared_sequences",
]
