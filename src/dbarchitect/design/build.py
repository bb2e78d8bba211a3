"""A design spec → the Schema of one engine, in that engine's own terms (pure, no I/O).

The build never names an engine: it asks the dialect's Designer (dialects/<engine>/design.py)
for type texts, defaults, triggers and what the engine cannot express. The result is the
schema the engine's introspection prints for the rendered DDL, so that rendering it, loading
it and reading it back gives the same Schema. What an engine cannot express is left out and
said in `notes`.

Conventions (documented in design/spec.py): surrogate keys (bigint identity or uuid with a
server default) or natural keys; created_at / updated_at kept current; soft delete with unique
keys among live rows; tenancy with composite foreign keys that keep rows inside one tenant;
audit columns; relationships with ON DELETE and supporting indexes; join tables; explicit
indexes; partitions; naming templates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dbarchitect.design.build_assemble import assemble
from dbarchitect.design.build_draft import Context
from dbarchitect.design.build_keys import (
    add_entity_keys,
    add_supporting_indexes,
    apply_soft_delete,
    apply_tenancy,
    dedupe,
    fit_indexes,
)
from dbarchitect.design.build_partition import apply_partitions
from dbarchitect.design.build_tables import (
    add_audit,
    add_conventions,
    add_relationships,
    draft_entities,
)
from dbarchitect.design.load import LoadedSpec
from dbarchitect.dialects import get_dialect
from dbarchitect.model import Schema


@dataclass(frozen=True)
class Built:
    """The designed schema of one engine and what that engine could not express."""

    schema: Schema
    notes: tuple[str, ...]


def build(loaded: LoadedSpec, dialect: str, *, today: dt.date | None = None) -> Built:
    """The Schema `loaded` designs for `dialect`, and notes on what was left out.

    `today` fixes the date range partitions start from when the spec gives no start
    (default: today in UTC). Raises InputError, naming the spec line, for what the spec
    asks and cannot be built (an unknown column in an index, a check the engine cannot
    express, …)."""
    d = get_dialect(dialect)
    designer = d.designer()
    ctx = Context(
        loaded=loaded,
        designer=designer,
        schema=designer.schema_name(loaded.spec.schema_),
        today=today or dt.datetime.now(dt.UTC).date(),
    )
    drafts = draft_entities(ctx)
    add_relationships(ctx, drafts)
    add_audit(ctx, drafts)
    add_conventions(ctx, drafts)
    add_entity_keys(ctx, drafts)
    apply_tenancy(ctx, drafts)
    apply_soft_delete(ctx, drafts)
    apply_partitions(ctx, drafts)
    for draft in drafts.values():
        dedupe(draft)
    fit_indexes(ctx, drafts)
    add_supporting_indexes(ctx, drafts)
    tables, enums = assemble(ctx, drafts)
    triggers = any(t.triggers for t in tables)
    functions = designer.support_functions(ctx.schema, triggers)
    namespaces, grants = designer.baseline(ctx.schema, functions, tuple(enums))
    if any(t.policies for t in tables):
        ctx.note(
            "tenant tables have row level security (policy tenant_isolation): set the tenant "
            "per transaction with SET LOCAL app.tenant_id = '…'; the table owner bypasses it"
        )
    schema = Schema(
        dialect=d.name,
        namespaces=namespaces,
        enums=tuple(enums),
        tables=tuple(tables),
        functions=functions,
        grants=grants,
    )
    return Built(schema=schema, notes=ctx.all_notes())


__all__ = ["Built", "build"]
