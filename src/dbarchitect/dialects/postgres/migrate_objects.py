"""Functions, views, triggers and policies as migration statements for PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from dbarchitect.dialects.postgres import ddl, ddl_objects
from dbarchitect.dialects.postgres.migrate_context import Context, comment_sql
from dbarchitect.dialects.postgres.migrate_grants import public_default
from dbarchitect.dialects.postgres.migrate_tables import storage_options
from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.model import Function, Policy, Trigger, View


# --- functions ------------------------------------------------------------------------------
def _function_target(fn: Function) -> str:
    args = fn.identity or ("*" if fn.kind == "aggregate" else "")
    return f"{fn.kind.upper()} {qname(fn.schema, fn.name)}({args})"


def create_function(ctx: Context, fn: Function) -> None:
    """CREATE FUNCTION / PROCEDURE / AGGREGATE, comment, and PUBLIC's default EXECUTE as
    `after` has it."""
    ctx.emit(ddl_objects.create_function(fn))
    if fn.comment is not None:
        ctx.emit(comment_sql(_function_target(fn), fn.comment))
    kind = "procedure" if fn.kind == "procedure" else "function"
    public_default(ctx, kind, f"{qname(fn.schema, fn.name)}({fn.identity})")


def alter_function(ctx: Context, b: Function, a: Function) -> None:
    """CREATE OR REPLACE when the definition changed (same signature and return type: the
    diff guarantees it), then the comment."""
    if _definition(b) != _definition(a):
        sql = ddl_objects.create_function(a)
        ctx.emit(sql.replace("CREATE ", "CREATE OR REPLACE ", 1))
    if b.comment != a.comment:
        ctx.emit(comment_sql(_function_target(a), a.comment))


def _definition(fn: Function) -> Function:
    return replace(fn, comment=None, depends_on=(), definition=None)


def drop_function(ctx: Context, fn: Function) -> None:
    """DROP FUNCTION / PROCEDURE / AGGREGATE by its identity arguments."""
    ctx.emit(f"DROP {_function_target(fn)};")


# --- views ----------------------------------------------------------------------------------
def _view_kind(v: View) -> str:
    return "MATERIALIZED VIEW" if v.materialized else "VIEW"


def create_view(ctx: Context, v: View) -> None:
    """CREATE [MATERIALIZED] VIEW (WITH DATA) with the comments on it and its columns."""
    name = qname(v.schema, v.name)
    ctx.emit(ddl_objects.create_view(v))
    ctx.created.add(v.qualified)
    ctx.dropped.discard(v.qualified)
    if v.comment is not None:
        ctx.emit(comment_sql(f"{_view_kind(v)} {name}", v.comment))
    for col in v.columns:
        if col.comment is not None:
            ctx.emit(comment_sql(f"COLUMN {name}.{quote(col.name)}", col.comment))


def drop_view(ctx: Context, v: View) -> None:
    """DROP [MATERIALIZED] VIEW (never CASCADE)."""
    ctx.emit(f"DROP {_view_kind(v)} {qname(v.schema, v.name)};")
    ctx.dropped.add(v.qualified)
    ctx.created.discard(v.qualified)


def alter_view(ctx: Context, b: View, a: View) -> None:
    """CREATE OR REPLACE VIEW (it replaces the options and check option too); a
    materialized view only alters its storage options; comments of view and columns."""
    name = qname(a.schema, a.name)
    if _needs_rebuild(b, a):
        # CREATE OR REPLACE cannot drop or retype columns, nor change a materialized
        # view's query (the inverse of an in-place alter can need either).
        drop_view(ctx, b)
        create_view(ctx, a)
        return
    if a.materialized:
        for sql in storage_options(f"ALTER MATERIALIZED VIEW {name}", b.options, a.options):
            ctx.emit(sql)
    elif (b.definition, b.options, b.check_option) != (a.definition, a.options, a.check_option):
        ctx.emit(ddl_objects.create_view(a).replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"{_view_kind(a)} {name}", a.comment))
    old = {c.name: c.comment for c in b.columns}
    for col in a.columns:
        if old.get(col.name) != col.comment:
            ctx.emit(comment_sql(f"COLUMN {name}.{quote(col.name)}", col.comment))


def _needs_rebuild(b: View, a: View) -> bool:
    if b.materialized != a.materialized:
        return True
    if a.materialized:
        return b.definition != a.definition
    kept = [(c.name, c.type) for c in a.columns[: len(b.columns)]]
    return kept != [(c.name, c.type) for c in b.columns]


# --- triggers -------------------------------------------------------------------------------
def create_trigger(ctx: Context, owner: str, tg: Trigger) -> None:
    """The trigger's own CREATE TRIGGER text, DISABLE when `after` has it disabled, comment.
    A partition's trigger cloned from its parent's is PostgreSQL's to create."""
    if tg.inherited:
        return
    table = ctx.owner_sql(owner)
    for sql in ddl.trigger_statements(table, [tg]):
        ctx.emit(sql)
    if tg.comment is not None:
        ctx.emit(comment_sql(f"TRIGGER {quote(tg.name)} ON {table}", tg.comment))


def drop_trigger(ctx: Context, owner: str, tg: Trigger) -> None:
    """DROP TRIGGER … ON … (cloned ones go with the parent's)."""
    if tg.inherited or owner in ctx.dropped:
        return
    ctx.emit(f"DROP TRIGGER {quote(tg.name)} ON {ctx.owner_sql(owner)};")


def alter_trigger(ctx: Context, owner: str, b: Trigger, a: Trigger) -> None:
    """ENABLE / DISABLE TRIGGER and the comment."""
    table = ctx.owner_sql(owner)
    if b.enabled != a.enabled and not a.inherited:
        verb = "ENABLE" if a.enabled else "DISABLE"
        ctx.emit(f"ALTER TABLE {table} {verb} TRIGGER {quote(a.name)};")
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"TRIGGER {quote(a.name)} ON {table}", a.comment))


# --- policies -------------------------------------------------------------------------------
def create_policy(ctx: Context, owner: str, p: Policy) -> None:
    """CREATE POLICY and its comment."""
    table = ctx.owner_sql(owner)
    ctx.emit(ddl.policy_sql(table, p))
    if p.comment is not None:
        ctx.emit(comment_sql(f"POLICY {quote(p.name)} ON {table}", p.comment))


def drop_policy(ctx: Context, owner: str, p: Policy) -> None:
    """DROP POLICY … ON …."""
    if owner not in ctx.dropped:
        ctx.emit(f"DROP POLICY {quote(p.name)} ON {ctx.owner_sql(owner)};")


def alter_policy(ctx: Context, owner: str, b: Policy, a: Policy) -> None:
    """ALTER POLICY for roles / USING / WITH CHECK; an expression that disappears cannot be
    removed by ALTER POLICY, so the policy is recreated."""
    table = ctx.owner_sql(owner)
    if (b.using is not None and a.using is None) or (
        b.with_check is not None and a.with_check is None
    ):
        drop_policy(ctx, owner, b)
        create_policy(ctx, owner, a)
        return
    parts = []
    if b.roles != a.roles:
        parts.append("TO " + ", ".join("PUBLIC" if r == "public" else quote(r) for r in a.roles))
    if b.using != a.using and a.using is not None:
        parts.append(f"USING ({a.using})")
    if b.with_check != a.with_check and a.with_check is not None:
        parts.append(f"WITH CHECK ({a.with_check})")
    if parts:
        ctx.emit(f"ALTER POLICY {quote(a.name)} ON {table} " + " ".join(parts) + ";")
    if b.comment != a.comment:
        ctx.emit(comment_sql(f"POLICY {quote(a.name)} ON {table}", a.comment))
