"""Schema tools: list objects, describe one, and the canonical JSON a page of tables at a time."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Literal

from mcp.server.fastmcp import FastMCP
from pydantic import BaseModel

from dbarchitect.errors import InputError
from dbarchitect.mcp.tools_common import READ, Databases, call
from dbarchitect.model import Schema, to_json
from dbarchitect.report import describe as d

Kind = Literal["table", "view", "materialized view", "function", "sequence", "enum", "domain"]


class ObjectRef(BaseModel):
    kind: str
    name: str


class ObjectList(BaseModel):
    """The objects of a database, sorted by kind then name."""

    summary: str
    objects: list[ObjectRef]


class ColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    extra: list[str] = []
    comment: str | None = None


class Description(BaseModel):
    """One object: its columns and every constraint, index, trigger and policy, one line each."""

    kind: str
    name: str
    comment: str | None = None
    columns: list[ColumnOut] = []
    constraints: list[str] = []
    indexes: list[str] = []
    triggers: list[str] = []
    policies: list[str] = []
    definition: str | None = None


class InspectPage(BaseModel):
    """Canonical schema JSON, paged by tables; page 1 also holds every non-table object."""

    dialect: str
    page: int
    pages: int
    tables_total: int
    canonical: dict[str, Any]


def objects(schema: Schema) -> list[ObjectRef]:
    """Every named object of the schema as (kind, qualified name)."""
    out = [ObjectRef(kind="table", name=t.qualified) for t in schema.tables]
    for v in schema.views:
        out.append(
            ObjectRef(kind="materialized view" if v.materialized else "view", name=v.qualified)
        )
    out += [ObjectRef(kind=f.kind, name=f.signature) for f in schema.functions]
    out += [ObjectRef(kind="sequence", name=d.qualify(s.schema, s.name)) for s in schema.sequences]
    out += [ObjectRef(kind="enum", name=d.qualify(e.schema, e.name)) for e in schema.enums]
    out += [ObjectRef(kind="domain", name=d.qualify(x.schema, x.name)) for x in schema.domains]
    return sorted(out, key=lambda o: (o.kind, o.name))


def _column(c: Any) -> ColumnOut:
    return ColumnOut(
        name=c.name,
        type=c.type,
        nullable=c.nullable,
        default=c.default,
        extra=[*d.column_flags(c), *d.column_value_source(c)],
        comment=c.comment,
    )


def describe_object(schema: Schema, name: str) -> Description:
    """The object called `name` (qualified, or unqualified when that is unambiguous)."""
    table = schema.table(name) or _unique(schema.tables, name)
    if table is not None:
        cons = [f"primary key {d.pk_text(table.primary_key)}"] if table.primary_key else []
        cons += [f"foreign key {d.fk_text(fk)}" for fk in table.foreign_keys]
        cons += [f"unique {d.unique_text(u)}" for u in table.uniques]
        cons += [f"check {d.check_text(c)}" for c in table.checks]
        cons += [f"exclusion {d.exclusion_text(x)}" for x in table.exclusions]
        rls = d.rls_text(table)
        return Description(
            kind="table",
            name=table.qualified,
            comment=table.comment,
            columns=[_column(c) for c in table.columns],
            constraints=cons,
            indexes=[d.index_text(i) for i in table.indexes],
            triggers=[d.trigger_text(t) for t in table.triggers],
            policies=([rls] if rls else []) + [d.policy_text(p) for p in table.policies],
        )
    view = next((v for v in schema.views if v.qualified == name), None)
    view = view or _unique(schema.views, name)
    if view is not None:
        return Description(
            kind="materialized view" if view.materialized else "view",
            name=view.qualified,
            comment=view.comment,
            columns=[_column(c) for c in view.columns],
            indexes=[d.index_text(i) for i in view.indexes],
            triggers=[d.trigger_text(t) for t in view.triggers],
            definition=view.definition,
        )
    funcs = [
        f for f in schema.functions if name in (f.signature, d.qualify(f.schema, f.name), f.name)
    ]
    if len(funcs) == 1:
        f = funcs[0]
        return Description(
            kind=f.kind,
            name=f.signature,
            comment=f.comment,
            constraints=[d.function_text(f)],
            definition=f.definition or f.body,
        )
    if len(funcs) > 1:
        listed = ", ".join(f.signature for f in funcs)
        raise InputError(f"{name}: several overloads, name one: {listed}")
    raise InputError(f"{name}: no such table, view or function (see list_objects)")


def _unique(items: Any, name: str) -> Any:
    found = [x for x in items if x.name == name]
    return found[0] if len(found) == 1 else None


def inspect_page(schema: Schema, page: int, page_size: int) -> InspectPage:
    """One page of the canonical JSON: `page_size` tables; page 1 keeps the other objects."""
    if page < 1 or page_size < 1:
        raise InputError("page and page_size start at 1")
    total = len(schema.tables)
    pages = max(1, -(-total // page_size))
    if page > pages:
        raise InputError(f"page {page}: there are {pages} page(s)")
    tables = schema.tables[(page - 1) * page_size : page * page_size]
    part = replace(schema, tables=tables)
    if page > 1:
        part = Schema(dialect=schema.dialect, tables=tables)
    return InspectPage(
        dialect=schema.dialect,
        page=page,
        pages=pages,
        tables_total=total,
        canonical=json.loads(to_json(part)),
    )


def register(server: FastMCP, dbs: Databases) -> None:
    """Add list_objects, describe and inspect to `server`."""
    from dbarchitect.sources import introspect_url, load_schema

    @server.tool(
        annotations=READ,
        description="List a database's objects (tables, views, functions, sequences, types).",
    )
    async def list_objects(
        database: str = "default", schema: str | None = None, kind: Kind | None = None
    ) -> ObjectList:
        url = dbs.url(database)
        found = await call(dbs, lambda: introspect_url(url, schemas=[schema] if schema else None))
        listed = [o for o in objects(found) if kind is None or o.kind == kind]
        return ObjectList(summary=d.header_line(found), objects=listed)

    @server.tool(
        annotations=READ,
        description="Describe one table, view or function: columns, keys, indexes, triggers, "
        "policies, definition.",
    )
    async def describe(object: str, database: str = "default") -> Description:
        url = dbs.url(database)
        return await call(dbs, lambda: describe_object(introspect_url(url), object))

    @server.tool(
        annotations=READ,
        description="Canonical schema JSON of a database or SQL/JSON file, paged by tables.",
    )
    async def inspect(source: str = "default", page: int = 1, page_size: int = 50) -> InspectPage:
        item = dbs.source(source)
        return await call(dbs, lambda: inspect_page(load_schema([item]), page, page_size))
